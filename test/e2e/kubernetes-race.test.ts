// The k8s:// store's single flight, against a real kube-apiserver + etcd
// (scripts/k8s-apiserver.sh). There is no kubelet, so each "pod" is a claudeauth-entrypoint
// process given what a kubelet gives a pod: its own service account's token and the CA at
// /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT, a host name.
// The fake Anthropic endpoint's refresh tokens are single use and rotate; replaying a spent
// one revokes the whole family.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { tempRoot } from "../support/fixtures";
import { adminStore, grantStore, makePod, newNamespace, seedKubernetesStore, startCluster, startPod, type Cluster, type Pod } from "../support/kubernetes";

const PODS = 8;
const WAVES = 3;
/** Tokens live 10 min and runs refresh within 15 min of expiry (the default margin): every wave wants one refresh. */
const TOKEN_TTL_SECONDS = 600;

let cluster: Cluster;
let fake: FakeAnthropic;
let root: string;

beforeAll(async () => {
  cluster = startCluster();
  fake = await startFakeAnthropic({ accessTokenTtlSeconds: TOKEN_TTL_SECONDS });
  root = tempRoot("claudeauth-k8s-race-");
}, 45 * 60_000);

afterAll(async () => {
  await fake?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

async function podsFor(namespace: string, name: string, count: number): Promise<Pod[]> {
  const pods: Pod[] = [];
  for (let i = 0; i < count; i++) {
    const sa = `runner-${i}`;
    const pod = await makePod(cluster, namespace, sa, `${name}-pod-${i}`, root);
    await grantStore(cluster, namespace, name, sa);
    pods.push(pod);
  }
  return pods;
}

function endpointEnv(namespace: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath, CLAUDEAUTH_STORE: `k8s://${namespace}/${name}`, ...extra };
}

describe("k8s:// store on a real API server (pods simulated by entrypoint processes: no kubelet)", () => {
  it(`${PODS} pods refresh one Secret at once, ${WAVES} times: one token request per rotation, no invalid_grant, no revoked family, the Secret on the newest token`, async () => {
    const namespace = await newNamespace(cluster, "race");
    const name = "claude-login";
    const login = fake.login();
    const admin = adminStore(cluster, namespace, name, root);
    await seedKubernetesStore(admin, { claudeAiOauth: login });
    const pods = await podsFor(namespace, name, PODS);
    const before = { ...fake.stats };

    const started = performance.now();
    for (let wave = 0; wave < WAVES; wave++) {
      const results = await Promise.all(pods.map((pod) => startPod(cluster, pod, ["refresh"], endpointEnv(namespace, name)).result));
      for (const result of results) expect(result, result.stderr).toMatchObject({ status: 0 });
      const waited = results.filter((r) => /waiting for .* \(Lease /.test(r.stderr)).length;
      console.log(`wave ${wave + 1}: ${PODS} pods, ${waited} waited on the Lease, slowest ${Math.round(Math.max(...results.map((r) => r.ms)))} ms`);
    }
    const wallMs = performance.now() - started;

    const refreshes = fake.stats.refreshOk - before.refreshOk;
    console.log(`k8s race: ${PODS} pods x ${WAVES} waves, ${refreshes} refreshes, ${fake.stats.invalidGrant} invalid_grant, ${fake.stats.familiesRevoked} families revoked, wall ${Math.round(wallMs)} ms`);
    expect(refreshes).toBe(WAVES);
    expect(fake.stats.invalidGrant - before.invalidGrant).toBe(0);
    expect(fake.stats.familiesRevoked - before.familiesRevoked).toBe(0);
    const current = await admin.readCurrent();
    expect(current!.credentials!.claudeAiOauth.refreshToken).toBe(fake.latestRefreshToken(login.refreshToken));
    expect(current!.generation).toBe(1 + WAVES);
  }, 300_000);

  it("the Lease holder killed mid-refresh: the next pod takes the Lease only after it expires and refreshes with the unspent token, nothing lost", async () => {
    const namespace = await newNamespace(cluster, "killed");
    const name = "claude-login";
    const login = fake.login();
    const admin = adminStore(cluster, namespace, name, root);
    await seedKubernetesStore(admin, { claudeAiOauth: login });
    const [first, second] = await podsFor(namespace, name, 2);
    const revokedBefore = fake.stats.familiesRevoked;
    const leaseSeconds = 3;
    const env = endpointEnv(namespace, name, { CLAUDEAUTH_LOCK_STALE: `${leaseSeconds}s` });

    // The holder's token request is held at the endpoint, unprocessed, and the holder is killed.
    const held = fake.holdNextTokenRequest();
    const holder = startPod(cluster, first!, ["refresh"], env);
    await held.arrived;
    holder.kill("SIGKILL");
    await holder.result;
    held.discard(); // it never reached the server: the refresh token is unspent

    const killedAt = performance.now();
    const next = await startPod(cluster, second!, ["refresh"], env).result;
    const waitedMs = performance.now() - killedAt;
    expect(next, next.stderr).toMatchObject({ status: 0 });
    expect(next.stderr).toMatch(/waiting for .*-pod-0\/\d+\/\w+ \(Lease .*claude-login-refresh\)/);
    expect(waitedMs).toBeGreaterThanOrEqual(leaseSeconds * 1000 - 500);
    expect(fake.stats.familiesRevoked).toBe(revokedBefore);
    const current = await admin.readCurrent();
    expect(current!.credentials!.claudeAiOauth.refreshToken).toBe(fake.latestRefreshToken(login.refreshToken));
    expect(current!.credentials!.claudeAiOauth.refreshToken).not.toBe(login.refreshToken);
  }, 120_000);
});
