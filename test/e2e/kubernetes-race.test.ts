// The k8s:// store's single flight, against a real kube-apiserver + etcd
// (scripts/k8s-apiserver.sh). There is no kubelet, so each "pod" is a claudeauth-entrypoint
// process given what a kubelet gives a pod: its own service account's token and the CA at
// /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT, a host name.
// The fake Anthropic endpoint's refresh tokens are single use and rotate; replaying a spent
// one revokes the whole family.
import { describe, expect, it } from "vitest";
import { adminStore, formatRace, grantStore, makePod, newNamespace, raceRefresh, seedKubernetesStore, startPod, useKubernetesWorld, type Pod } from "../support/kubernetes";

const PODS = 8;
const WAVES = 3;

const world = useKubernetesWorld("race");

async function podsFor(namespace: string, name: string, count: number): Promise<Pod[]> {
  const pods: Pod[] = [];
  for (let i = 0; i < count; i++) {
    const sa = `runner-${i}`;
    const pod = await makePod(world.cluster, namespace, sa, `${name}-pod-${i}`, world.root);
    await grantStore(world.cluster, namespace, name, sa);
    pods.push(pod);
  }
  return pods;
}

function endpointEnv(namespace: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HTTPS_PROXY: world.fake.proxyUrl, NODE_EXTRA_CA_CERTS: world.fake.caPath, CLAUDEAUTH_STORE: `k8s://${namespace}/${name}`, ...extra };
}

describe("k8s:// store on a real API server (pods simulated by entrypoint processes: no kubelet)", () => {
  it(`${PODS} pods refresh one Secret at once, ${WAVES} times: one token request per rotation, no invalid_grant, no revoked family, the Secret on the newest token`, async () => {
    const figures = await raceRefresh(world.cluster, world.fake, world.root, { pods: PODS, waves: WAVES });
    console.log(formatRace(figures));
    // One refresh per wave, one token request per refresh; the seed and each wave's aging are captures too.
    expect(figures).toMatchObject({ refreshes: WAVES, tokenRequests: WAVES, invalidGrant: 0, familiesRevoked: 0, secretOnNewest: true, generation: 1 + 2 * WAVES });
    // The audit trail: each refresh an Event about the Secret, and no token in any Event.
    expect(figures).toMatchObject({ refreshEvents: WAVES, tokenInEvents: false });
    expect(figures.waited).toBeGreaterThan(0);
  }, 300_000);

  it("the Lease holder killed mid-refresh: the next pod takes the Lease only after it expires and refreshes with the unspent token, nothing lost", async () => {
    const namespace = await newNamespace(world.cluster, "killed");
    const name = "claude-login";
    const login = world.fake.login();
    const admin = adminStore(world.cluster, namespace, name, world.root);
    await seedKubernetesStore(admin, { claudeAiOauth: login });
    const [first, second] = await podsFor(namespace, name, 2);
    const revokedBefore = world.fake.stats.familiesRevoked;
    const leaseSeconds = 3;
    const env = endpointEnv(namespace, name, { CLAUDEAUTH_LOCK_STALE: `${leaseSeconds}s` });

    // The holder's token request is held at the endpoint, unprocessed, and the holder is killed.
    const held = world.fake.holdNextTokenRequest();
    const holder = startPod(world.cluster, first!, ["refresh"], env);
    await held.arrived;
    holder.kill("SIGKILL");
    await holder.result;
    held.discard(); // it never reached the server: the refresh token is unspent

    const killedAt = performance.now();
    const next = await startPod(world.cluster, second!, ["refresh"], env).result;
    const waitedMs = performance.now() - killedAt;
    expect(next, next.stderr).toMatchObject({ status: 0 });
    expect(next.stderr).toMatch(/waiting for .*-pod-0\/\d+\/\w+ \(Lease .*claude-login-refresh\)/);
    expect(waitedMs).toBeGreaterThanOrEqual(leaseSeconds * 1000 - 500);
    expect(world.fake.stats.familiesRevoked).toBe(revokedBefore);
    const current = await admin.readCurrent();
    expect(current!.credentials!.claudeAiOauth.refreshToken).toBe(world.fake.latestRefreshToken(login.refreshToken));
    expect(current!.credentials!.claudeAiOauth.refreshToken).not.toBe(login.refreshToken);
  }, 120_000);
});
