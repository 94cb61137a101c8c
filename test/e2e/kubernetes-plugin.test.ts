// The plugin's refresh, doctor and events against a k8s:// store, on a real kube-apiserver + etcd
// (scripts/k8s-apiserver.sh), reached with a kubeconfig as a user reaches it with kubectl. The
// plugin refreshes in-process on the host (the same core as the pods), through the fake
// Anthropic endpoint (an HTTPS-intercepting proxy). Every output is scanned for tokens.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, plugin, HOST_USER, type PluginRun, type Sandbox } from "../support/docker";
import { trackSecret } from "../support/token-scan";
import { OAUTH } from "../fake-anthropic";
import { adminStore, api, grantStore, newNamespace, readStoreSecret, seedKubernetesStore, serviceAccountToken, useKubernetesWorld, type Cluster } from "../support/kubernetes";

const world = useKubernetesWorld("plugin");
const NAME = "claude-login";
let sandbox: Sandbox;
let admin: string;
let ca: string;

beforeAll(() => {
  sandbox = makeSandbox("k8s-plugin", { user: HOST_USER });
  admin = ownFile("admin.kubeconfig", fs.readFileSync(world.cluster.kubeconfig));
  ca = ownFile("fake-ca.pem", fs.readFileSync(world.fake.caPath));
}, 60_000);

afterAll(async () => {
  await sandbox?.cleanup();
});

/** A file in the sandbox's home, readable by its user only. */
function ownFile(name: string, content: string | Buffer): string {
  const file = path.join(sandbox.home, name);
  fs.writeFileSync(file, content, { mode: 0o600 });
  if (sandbox.user) fs.chownSync(file, sandbox.user.uid, sandbox.user.gid);
  return file;
}

/** A kubeconfig for a service account of `namespace`: a user with only the rights its Role gives. */
async function kubeconfigFor(cluster: Cluster, namespace: string, serviceAccount: string): Promise<{ file: string; token: string }> {
  const token = await serviceAccountToken(cluster, namespace, serviceAccount);
  const server = cluster.server.href.replace(/\/$/, "");
  const text = [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{name: test, cluster: {server: "${server}", certificate-authority-data: ${cluster.ca.toString("base64")}}}]`,
    `users: [{name: ${serviceAccount}, user: {token: "${token}"}}]`,
    `contexts: [{name: ${serviceAccount}, context: {cluster: test, user: ${serviceAccount}, namespace: ${namespace}}}]`,
    `current-context: ${serviceAccount}`,
  ].join("\n");
  return { file: ownFile(`${namespace}-${serviceAccount}.kubeconfig`, text), token };
}

/** The store's Secret holds a login of the fake whose access token expires in `expiresInMs`. */
async function seedLogin(namespace: string, expiresInMs: number) {
  const login = world.fake.login();
  trackSecret(login.accessToken);
  trackSecret(login.refreshToken);
  await seedKubernetesStore(adminStore(world.cluster, namespace, NAME, world.root), { claudeAiOauth: { ...login, expiresAt: Date.now() + expiresInMs } });
  return login;
}

const throughFake = () => ({ HTTPS_PROXY: world.fake.proxyUrl, NODE_EXTRA_CA_CERTS: ca });
const tokenRequests = () => world.fake.stats.byPath[OAUTH.path] ?? 0;
type Check = { name: string; level: string; message: string; fix?: string };
const doctorChecks = (run: PluginRun): Check[] => (JSON.parse(run.stdout) as { checks: Check[] }).checks;
const clusterChecks = (checks: Check[]) => checks.filter((c) => ["kubeconfig", "api-server", "rbac", "secret", "store", "lease"].includes(c.name));
const oneLineError = (run: PluginRun) => {
  const lines = run.stderr.trim().split("\n");
  expect(lines, run.stderr).toHaveLength(1);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
};

describe("plugin refresh and doctor against a k8s:// store (real kube-apiserver + etcd, the user's kubeconfig)", () => {
  it("refresh rotates an expiring token through the endpoint once, status and doctor say healthy; a Role without update: doctor names the verb and rule, refresh fails in one line and spends nothing", async () => {
    const namespace = await newNamespace(world.cluster, "plugin");
    const store = `k8s://${namespace}/${NAME}`;
    const login = await seedLogin(namespace, 5 * 60_000);

    const before = await plugin(sandbox, ["status", "--store", store, "--json"], { env: { KUBECONFIG: admin } });
    expect(before.exitCode, before.output).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ healthy: true, store: { kind: "k8s", location: store }, capture: { generation: 1 } });

    const requests = tokenRequests();
    const refreshed = await plugin(sandbox, ["refresh", "--store", store, "--kubeconfig", admin, "--if-expiring-within", "1h"], { env: throughFake() });
    expect(refreshed.exitCode, refreshed.output).toBe(0);
    expect(refreshed.stdout).toMatch(/^refreshed profile default: access token expires in 9m \d+s .*\(capture #2\)$/);
    expect(tokenRequests()).toBe(requests + 1);
    const newest = world.fake.latestRefreshToken(login.refreshToken)!;
    expect(newest).not.toBe(login.refreshToken);
    const current = await adminStore(world.cluster, namespace, NAME, world.root).readCurrent();
    expect(current!.credentials!.claudeAiOauth.refreshToken).toBe(newest);

    // Fresh now: --if-expiring-within leaves it alone, without a request.
    const again = await plugin(sandbox, ["refresh", "--store", store, "--kubeconfig", admin, "--if-expiring-within", "5m"], { env: throughFake() });
    expect(again.exitCode, again.output).toBe(0);
    expect(again.stdout).toMatch(/^access token valid for more than 5m .*: nothing to do$/);
    expect(tokenRequests()).toBe(requests + 1);

    const after = await plugin(sandbox, ["status", "--store", store, "--kubeconfig", admin, "--json"]);
    expect(after.exitCode, after.output).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ healthy: true, capture: { generation: 2, source: "refresh" }, lastRefresh: { kind: "refresh", outcome: "ok" } });

    // The refresh is in the store's audit trail: a Kubernetes Event about the Secret, read back by events.
    const events = await plugin(sandbox, ["events", "--store", store, "--kubeconfig", admin, "--format", "json"]);
    expect(events.exitCode, events.output).toBe(0);
    expect(JSON.parse(events.stdout)).toEqual([expect.objectContaining({ kind: "refresh", outcome: "ok", by: "plugin", generation: 2 })]);

    const doctor = await plugin(sandbox, ["doctor", "--store", store, "--kubeconfig", admin, "--format", "json"]);
    const checks = clusterChecks(doctorChecks(doctor));
    expect(checks.filter((c) => c.level === "fail"), doctor.stdout).toEqual([]);
    expect(checks.filter((c) => c.name !== "store").every((c) => c.level === "ok"), doctor.stdout).toBe(true);
    // The fake's tokens live 10 minutes: the store check also warns that it expires within the hour.
    expect(checks.map((c) => c.name)).toEqual(["kubeconfig", "api-server", "rbac", "secret", "store", "store", "lease"]);
    expect(checks.find((c) => c.name === "rbac")!.message).toContain(`update secrets/${NAME}, get leases/${NAME}-refresh, update leases/${NAME}-refresh`);
    expect(checks.find((c) => c.name === "store")!.message).toMatch(/: healthy, with warnings, oauth, access token expires in 9m/);
    expect(checks.find((c) => c.name === "lease")!.message).toBe(`the refresh Lease ${namespace}/${NAME}-refresh is free: no refresh in progress`);
    expect(doctor.exitCode, doctor.output).toBe(0);

    // An operator whose Role lacks update on the Secret.
    const operator = await kubeconfigFor(world.cluster, namespace, "operator");
    await grantStore(world.cluster, namespace, NAME, "operator", { secret: ["get"], lease: ["get", "update"] });
    const rule = `{apiGroups: [""], resources: ["secrets"], resourceNames: ["${NAME}"], verbs: ["update"]}`;
    const denied = await plugin(sandbox, ["doctor", "--store", store, "--kubeconfig", operator.file, "--format", "json"]);
    expect(denied.exitCode, denied.output).toBe(1);
    const problems = clusterChecks(doctorChecks(denied)).filter((c) => c.level === "fail");
    expect(problems).toEqual([
      {
        name: "rbac",
        level: "fail",
        message: `kubeconfig ${operator.file}, context operator may not update secrets "${NAME}" in namespace ${namespace} (403 Forbidden)`,
        fix: `add to its Role the rule ${rule}`,
      },
    ]);

    const secretBefore = (await readStoreSecret(world.cluster, namespace, NAME)).body.metadata.resourceVersion;
    const failed = await plugin(sandbox, ["refresh", "--store", store, "--kubeconfig", operator.file], { env: throughFake() });
    expect(failed.exitCode).toBe(1);
    expect(oneLineError(failed)).toBe(
      `error: refresh failed: kubeconfig ${operator.file}, context operator may not update secrets "${NAME}" in namespace ${namespace} (403 Forbidden): add to its Role the rule ${rule} (the refresh token was not spent)`,
    );
    expect(tokenRequests()).toBe(requests + 1); // the refresh token was not spent
    expect((await readStoreSecret(world.cluster, namespace, NAME)).body.metadata.resourceVersion).toBe(secretBefore);
    for (const run of [denied, failed]) expect(run.output).not.toContain(operator.token);
  }, 120_000);

  it("a refresh token the endpoint rejects: refresh fails in one line, and status then reports it rejected", async () => {
    const namespace = await newNamespace(world.cluster, "rejected");
    const store = `k8s://${namespace}/${NAME}`;
    const login = await seedLogin(namespace, 5 * 60_000);
    world.fake.revokeFamily(login.refreshToken);

    const failed = await plugin(sandbox, ["refresh", "--store", store, "--kubeconfig", admin], { env: throughFake() });
    expect(failed.exitCode).toBe(1);
    expect(oneLineError(failed)).toMatch(/^error: refresh failed: the token endpoint rejected the store's refresh token .*: log in again with "docker claudeauth setup"$/);

    const status = await plugin(sandbox, ["status", "--store", store, "--kubeconfig", admin, "--json"]);
    expect(status.exitCode, status.output).toBe(0); // runs still work until the access token expires
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({ healthy: true, refreshToken: { present: true, rejected: true } });
    expect(json.warnings).toContainEqual(expect.objectContaining({ message: expect.stringMatching(/^the token endpoint rejected the refresh token: runs work until the access token expires in/) }));
  });

  it("a Secret of that name that is not ours: doctor and refresh refuse it in one line, it is never written", async () => {
    const namespace = await newNamespace(world.cluster, "foreign");
    const foreign = await api(world.cluster, "POST", `/api/v1/namespaces/${namespace}/secrets`, { metadata: { name: NAME }, stringData: { "database-password": "hunter2-hunter2" } });
    expect(foreign.status).toBe(201);
    const store = `k8s://${namespace}/${NAME}`;

    const doctor = await plugin(sandbox, ["doctor", "--store", store, "--kubeconfig", admin, "--format", "json"]);
    expect(doctor.exitCode).toBe(1);
    expect(clusterChecks(doctorChecks(doctor)).filter((c) => c.level === "fail")).toEqual([
      {
        name: "secret",
        level: "fail",
        message: expect.stringMatching(new RegExp(`^the Secret ${namespace}/${NAME} exists and is not a claudeauth store \\(it lacks the label app.kubernetes.io/managed-by=claudeauth\\): it is left untouched`)),
        fix: `use another name: docker claudeauth setup --store k8s://${namespace}/OTHER-NAME --kubeconfig ${admin}`,
      },
    ]);
    const refresh = await plugin(sandbox, ["refresh", "--store", store, "--kubeconfig", admin], { env: throughFake() });
    expect(refresh.exitCode).not.toBe(0);
    expect(oneLineError(refresh)).toMatch(/is not a claudeauth store .*: it is left untouched; use another name/);
    expect((await readStoreSecret(world.cluster, namespace, NAME)).body.metadata.resourceVersion).toBe(foreign.body.metadata.resourceVersion);
  });

  it("no kubeconfig, an API server that does not answer, container flags, run: one line each with the fix", async () => {
    const missing = await plugin(sandbox, ["refresh", "--store", "k8s://claude/claude-login"], { env: { KUBECONFIG: path.join(sandbox.home, "missing") } });
    expect(missing.exitCode).not.toBe(0);
    expect(oneLineError(missing)).toMatch(/no kubeconfig: .*missing does not exist; pass --kubeconfig FILE or set KUBECONFIG/);

    const down = ownFile("down.kubeconfig", fs.readFileSync(admin, "utf8").replace(/server: \S+/, "server: https://127.0.0.1:1"));
    const doctor = await plugin(sandbox, ["doctor", "--store", "k8s://claude/claude-login", "--kubeconfig", down, "--format", "json"]);
    expect(doctor.exitCode).toBe(1);
    expect(clusterChecks(doctorChecks(doctor)).filter((c) => c.level === "fail")).toEqual([
      {
        name: "api-server",
        level: "fail",
        message: expect.stringMatching(/^cannot reach the Kubernetes API server 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); check that it is up and reachable from here$/),
        fix: "start the cluster, or fix the server address of the context (kubectl cluster-info)",
      },
    ]);
    const refresh = await plugin(sandbox, ["refresh", "--store", "k8s://claude/claude-login", "--kubeconfig", down]);
    expect(refresh.exitCode).not.toBe(0);
    expect(oneLineError(refresh)).toMatch(/cannot reach the Kubernetes API server 127\.0\.0\.1:1 .*; check that it is up and reachable from here/);

    const flags = await plugin(sandbox, ["refresh", "--store", "k8s://claude/claude-login", "--kubeconfig", admin, "--network", "host", "-e", "HTTPS_PROXY"]);
    expect(flags.exitCode).toBe(125);
    expect(oneLineError(flags)).toBe(
      "error: --network, -e set up a refresh container, but k8s://claude/claude-login is refreshed in this process with your kubeconfig: leave them out (set HTTPS_PROXY or NODE_EXTRA_CA_CERTS in this shell instead)",
    );

    // The runs of a k8s:// store are its pods.
    const run = await plugin(sandbox, ["run", "--store", "k8s://claude/claude-login", "--", "true"]);
    expect(run.exitCode).toBe(125);
    expect(oneLineError(run)).toBe(
      "error: k8s://claude/claude-login is a Kubernetes store: setup, status, refresh, doctor and events work with it from here; runs happen in its pods (examples/kubernetes/)",
    );
  });
});
