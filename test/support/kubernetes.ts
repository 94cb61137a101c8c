import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { ROOT, startEntrypoint, type Handle } from "./entrypoint";
import { claudeJsonText, tempRoot } from "./fixtures";
import { findTokens } from "./token-scan";
import { KubeApi } from "../../core/kubernetes/api";
import { KubernetesStore } from "../../core/kubernetes/store";
import { writeNewFile } from "../../core/safe-fs";
import type { Capture } from "../../core/store";
import { afterAll, beforeAll } from "vitest";
import { OAUTH, startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";

// The real Kubernetes API server of the k8s:// store tests (scripts/k8s-apiserver.sh: etcd +
// kube-apiserver v1.20.2, token auth, RBAC, no kubelet). With no kubelet there are no pods: a
// "pod" here is a claudeauth-entrypoint process with what a kubelet would give it, its own
// service account's token and the CA mounted at /var/run/secrets/kubernetes.io/serviceaccount
// (in a mount namespace of its own), KUBERNETES_SERVICE_HOST/PORT, and a host name of its own.

export const KUBECTL = "/var/cache/claudeauth/k8s-v1.20.2/kubectl";

export type Cluster = { instance: number; kubeconfig: string; server: URL; ca: Buffer; adminToken: string };

/** Starts (or finds) the API server of `instance` (default CLAUDEAUTH_K8S_INSTANCE, else 0: the shared one) and returns how to reach it as admin. */
export function startCluster(instance = Number(process.env.CLAUDEAUTH_K8S_INSTANCE || 0)): Cluster {
  const kubeconfig = execFileSync("bash", [path.join(ROOT, "scripts/k8s-apiserver.sh")], {
    env: { ...process.env, CLAUDEAUTH_K8S_INSTANCE: String(instance) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 40 * 60_000,
  }).trim();
  const state = path.dirname(kubeconfig);
  return {
    instance,
    kubeconfig,
    server: new URL(`https://127.0.0.1:${16443 + instance}`),
    ca: fs.readFileSync(path.join(state, "ca.crt")),
    adminToken: fs.readFileSync(path.join(state, "admin.token"), "utf8").trim(),
  };
}

export function stopCluster(instance: number): void {
  execFileSync("bash", [path.join(ROOT, "scripts/k8s-apiserver.sh"), "stop"], { env: { ...process.env, CLAUDEAUTH_K8S_INSTANCE: String(instance) }, stdio: "inherit" });
}

export function kubectl(cluster: Cluster, args: string[], input?: string): string {
  return execFileSync(KUBECTL, ["--kubeconfig", cluster.kubeconfig, ...args], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

/** One admin request to the API server (JSON in, JSON out). */
export function api<T = any>(cluster: Cluster, method: string, urlPath: string, body?: unknown, token = cluster.adminToken): Promise<{ status: number; body: T }> {
  const payload = body === undefined ? "" : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = https.request(new URL(urlPath, cluster.server), {
      method,
      ca: cluster.ca,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json" },
    });
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (c: Buffer) => chunks.push(c));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as T }));
    });
    request.on("error", reject);
    request.end(payload);
  });
}

/** A new namespace (namespaces are never deleted: with no controller-manager they would stay Terminating). */
export async function newNamespace(cluster: Cluster, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const created = await api(cluster, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  if (created.status !== 201) throw new Error(`namespace ${name}: ${JSON.stringify(created.body)}`);
  return name;
}

/** events: the audit trail's Events (create; not limited by name); [] for a Role without them. */
export type Verbs = { secret: string[]; lease: string[]; events?: string[] };
export const EXAMPLE_VERBS: Verbs = { secret: ["get", "update"], lease: ["get", "update"], events: ["create"] };

/** The example Role (examples/kubernetes/20-role.yaml), for the store `name` and with the verbs given, bound to `serviceAccount`. */
export async function grantStore(cluster: Cluster, namespace: string, name: string, serviceAccount: string, verbs: Verbs = EXAMPLE_VERBS): Promise<void> {
  const role = `${serviceAccount}-store`;
  const rules = [
    { apiGroups: [""], resources: ["secrets"], resourceNames: [name], verbs: verbs.secret },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [`${name}-refresh`], verbs: verbs.lease },
    ...((verbs.events ?? ["create"]).length ? [{ apiGroups: [""], resources: ["events"], verbs: verbs.events ?? ["create"] }] : []),
  ];
  await ok(api(cluster, "POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, { metadata: { name: role }, rules }));
  await ok(
    api(cluster, "POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      metadata: { name: role },
      subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role },
    }),
  );
}

/** A service account and a token for it (TokenRequest, as a kubelet gets one for a pod's projected volume). */
export async function serviceAccountToken(cluster: Cluster, namespace: string, name: string): Promise<string> {
  await ok(api(cluster, "POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } }), [201, 409]);
  const response = await api(cluster, "POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 },
  });
  if (response.status !== 201) throw new Error(`token for ${namespace}/${name}: ${JSON.stringify(response.body)}`);
  return response.body.status.token as string;
}

/** A pod's files: its service-account mount, a private TMPDIR, and a work dir for run mode's working copies. */
export type Pod = { name: string; dir: string; tmp: string; work: string };

/** What a kubelet would mount for a pod of `serviceAccount`: token (0400, root), CA, namespace. */
export async function makePod(cluster: Cluster, namespace: string, serviceAccount: string, name: string, parent: string): Promise<Pod> {
  const dir = path.join(parent, namespace, name);
  const sa = path.join(dir, "serviceaccount");
  const tmp = path.join(dir, "tmp");
  const work = path.join(dir, "work");
  fs.mkdirSync(sa, { recursive: true });
  fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
  fs.mkdirSync(work, { mode: 0o755 });
  fs.writeFileSync(path.join(sa, "token"), await serviceAccountToken(cluster, namespace, serviceAccount), { mode: 0o400 });
  fs.writeFileSync(path.join(sa, "ca.crt"), cluster.ca, { mode: 0o400 });
  fs.writeFileSync(path.join(sa, "namespace"), namespace, { mode: 0o400 });
  return { name, dir, tmp, work };
}

/** Runs the compiled entrypoint as the "pod" (see the top of this file). */
export function startPod(cluster: Cluster, pod: Pod, args: string[], env: Record<string, string> = {}): Handle {
  return startEntrypoint(args, {
    pod: { serviceAccountDir: path.join(pod.dir, "serviceaccount"), hostname: pod.name },
    cwd: pod.tmp,
    env: { TMPDIR: pod.tmp, KUBERNETES_SERVICE_HOST: cluster.server.hostname, KUBERNETES_SERVICE_PORT: cluster.server.port, ...env },
  });
}

/** The store Secret as the API server holds it (admin view). */
export async function readStoreSecret(cluster: Cluster, namespace: string, name: string): Promise<{ status: number; body: any }> {
  return api(cluster, "GET", `/api/v1/namespaces/${namespace}/secrets/${name}`);
}

async function ok(request: Promise<{ status: number; body: unknown }>, expected = [201]): Promise<void> {
  const response = await request;
  if (!expected.includes(response.status)) throw new Error(`Kubernetes API: HTTP ${response.status} ${JSON.stringify(response.body)}`);
}

/** The store as the admin sees it, through the real core (as fixtures.ts seeds a directory store). */
export function adminStore(cluster: Cluster, namespace: string, name: string, scratchParent: string): KubernetesStore {
  const api = new KubeApi({ server: cluster.server.href, ca: cluster.ca, token: () => cluster.adminToken, identity: "the test's admin" });
  return new KubernetesStore(api, { namespace, name }, { leaseMs: 5_000, scratchParent });
}

/** Commits a capture holding these credentials (and a .claude.json) into the Secret. */
export async function seedKubernetesStore(store: KubernetesStore, credentials: unknown): Promise<Capture> {
  return store.withLock((locked) =>
    locked.commit(
      (draft) => {
        writeNewFile(path.join(draft, ".credentials.json"), JSON.stringify(credentials));
        writeNewFile(path.join(draft, ".claude.json"), claudeJsonText());
      },
      { source: "setup", mode: "oauth" },
    ),
  );
}

/** 409 Conflict answers the API server gave so far, by resource (from its /metrics): the conflicts our writers met and retried. */
export async function conflictCount(cluster: Cluster): Promise<{ secrets: number; leases: number }> {
  const text = await new Promise<string>((resolve, reject) => {
    const request = https.request(new URL("/metrics", cluster.server), { ca: cluster.ca, headers: { authorization: `Bearer ${cluster.adminToken}` } });
    request.on("response", (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (c: string) => (body += c));
      response.on("end", () => resolve(body));
    });
    request.on("error", reject);
    request.end();
  });
  const count = (resource: string) =>
    text
      .split("\n")
      .filter((line) => line.startsWith("apiserver_request_total{") && line.includes('code="409"') && line.includes(`resource="${resource}"`))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
  return { secrets: count("secrets"), leases: count("leases") };
}

export type RaceFigures = {
  pods: number;
  waves: number;
  refreshes: number;
  /** Requests to the token endpoint: exactly one per rotation when nothing is wasted. */
  tokenRequests: number;
  invalidGrant: number;
  familiesRevoked: number;
  conflicts: { secrets: number; leases: number };
  waited: number;
  wallMs: number;
  secretOnNewest: boolean;
  generation: number;
  /** The store's audit trail: "refresh ok" Events about the Secret, and whether any Event in the namespace holds a token (the tests' scanner). */
  refreshEvents: number;
  tokenInEvents: boolean;
};

/** The pods refresh when the access token expires within this; the fake's tokens live longer. */
export const RACE_MARGIN = "5m";
const RACE_EXPIRING_MS = 60_000;

/**
 * Time passing, without waiting: the store's access token is made to expire within the pods'
 * margin (the same tokens, an earlier expiresAt), committed as the admin.
 */
export async function ageAccessToken(store: KubernetesStore): Promise<void> {
  await store.withLock(async (locked) => {
    const current = (await locked.readCurrent())!;
    const credentials = { ...current.credentials!, claudeAiOauth: { ...current.credentials!.claudeAiOauth, expiresAt: Date.now() + RACE_EXPIRING_MS } };
    await locked.commit((draft) => {
      writeNewFile(path.join(draft, ".credentials.json"), JSON.stringify(credentials));
      writeNewFile(path.join(draft, ".claude.json"), claudeJsonText());
    }, { source: "setup", mode: "oauth" });
  });
}

/**
 * `pods` pods, each with its own service account, run `claudeauth-entrypoint refresh` at once
 * against one Secret, `waves` times; before each wave the access token is made to expire
 * within their margin, so each wave wants exactly one refresh. The fake's new tokens live 10 min.
 */
export async function raceRefresh(cluster: Cluster, fake: FakeAnthropic, root: string, options: { pods: number; waves: number }): Promise<RaceFigures> {
  const namespace = await newNamespace(cluster, "race");
  const name = "claude-login";
  const login = fake.login();
  const admin = adminStore(cluster, namespace, name, root);
  await seedKubernetesStore(admin, { claudeAiOauth: login });
  const pods: Pod[] = [];
  for (let i = 0; i < options.pods; i++) {
    pods.push(await makePod(cluster, namespace, `runner-${i}`, `${name}-pod-${i}`, root));
    await grantStore(cluster, namespace, name, `runner-${i}`);
  }
  const env = { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath, CLAUDEAUTH_STORE: `k8s://${namespace}/${name}`, CLAUDEAUTH_REFRESH_MARGIN: RACE_MARGIN };
  const before = { ...fake.stats, tokenRequests: fake.stats.byPath[OAUTH.path] ?? 0, conflicts: await conflictCount(cluster) };
  let waited = 0;
  let agingMs = 0;
  const started = performance.now();
  for (let wave = 0; wave < options.waves; wave++) {
    const aging = performance.now();
    await ageAccessToken(admin);
    agingMs += performance.now() - aging;
    const results = await Promise.all(pods.map((pod) => startPod(cluster, pod, ["refresh"], env).result));
    const failed = results.find((r) => r.status !== 0);
    if (failed) throw new Error(`a pod's refresh failed (exit ${failed.status}): ${failed.stderr}`);
    waited += results.filter((r) => /waiting for .* \(Lease /.test(r.stderr)).length;
  }
  const wallMs = performance.now() - started - agingMs;
  const conflicts = await conflictCount(cluster);
  const current = await admin.readCurrent();
  const { events } = await admin.readEvents();
  const rawEvents = JSON.stringify((await api(cluster, "GET", `/api/v1/namespaces/${namespace}/events`)).body);
  return {
    pods: options.pods,
    waves: options.waves,
    refreshes: fake.stats.refreshOk - before.refreshOk,
    tokenRequests: (fake.stats.byPath[OAUTH.path] ?? 0) - before.tokenRequests,
    invalidGrant: fake.stats.invalidGrant - before.invalidGrant,
    familiesRevoked: fake.stats.familiesRevoked - before.familiesRevoked,
    conflicts: { secrets: conflicts.secrets - before.conflicts.secrets, leases: conflicts.leases - before.conflicts.leases },
    waited,
    wallMs: Math.round(wallMs),
    secretOnNewest: current?.credentials?.claudeAiOauth.refreshToken === fake.latestRefreshToken(login.refreshToken),
    generation: current?.generation ?? 0,
    refreshEvents: events.filter((e) => e.kind === "refresh" && e.outcome === "ok").length,
    tokenInEvents: findTokens(rawEvents).length > 0,
  };
}

export function formatRace(f: RaceFigures): string {
  return (
    `k8s race: ${f.pods} pods x ${f.waves} waves: ${f.refreshes} refreshes in ${f.tokenRequests} token requests, ${f.invalidGrant} invalid_grant, ` +
    `${f.familiesRevoked} families revoked, ${f.waited} pod runs waited on the Lease, 409 conflicts retried: ${f.conflicts.leases} Lease + ${f.conflicts.secrets} Secret, ` +
    `wall ${f.wallMs} ms, Secret on the newest token: ${f.secretOnNewest} (capture ${f.generation}), ` +
    `${f.refreshEvents} "refresh ok" Events about the Secret, a token in any Event: ${f.tokenInEvents}`
  );
}

export type KubernetesWorld = { cluster: Cluster; fake: FakeAnthropic; root: string };

/**
 * For a test file: the shared API server (the first run on a machine waits for its build), a
 * fake Anthropic endpoint whose tokens live 10 min, and a temp dir for pods and scratch, all
 * removed after the file (the API server keeps running).
 */
export function useKubernetesWorld(prefix: string): KubernetesWorld {
  const world = {} as KubernetesWorld;
  beforeAll(async () => {
    world.cluster = startCluster();
    world.fake = await startFakeAnthropic({ accessTokenTtlSeconds: 600 });
    world.root = tempRoot(`claudeauth-k8s-${prefix}-`);
  }, 45 * 60_000);
  afterAll(async () => {
    await world.fake?.close();
    if (world.root) fs.rmSync(world.root, { recursive: true, force: true });
  });
  return world;
}
