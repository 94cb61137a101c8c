// The k8s:// store when things go wrong, and the plugin's side of it, against a real
// kube-apiserver + etcd (scripts/k8s-apiserver.sh). No kubelet runs here: a "pod" is a
// claudeauth-entrypoint process with its own service-account token and CA mounted where a
// kubelet mounts them, and KUBERNETES_SERVICE_HOST/PORT. Each fault: one line with the fix,
// a non-zero exit, nothing lost, no stack trace, no token in any output.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeJsonText, credentialsText, loginScript } from "../support/fixtures";
import { ensureImages, makeSandbox, plugin, scriptsDir, writeScript, HOST_USER, type Sandbox } from "../support/docker";
import { TEST_USER } from "../support/test-user";
import {
  adminStore, ageAccessToken, api, grantStore, RACE_MARGIN, makePod, newNamespace, readStoreSecret, seedKubernetesStore, startCluster, startPod, stopCluster, useKubernetesWorld,
} from "../support/kubernetes";

const world = useKubernetesWorld("faults");

const NAME = "claude-login";
const oneLineError = (stderr: string) => {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
};
const endpoint = (namespace: string, extra: Record<string, string> = {}) => ({
  HTTPS_PROXY: world.fake.proxyUrl, NODE_EXTRA_CA_CERTS: world.fake.caPath, CLAUDEAUTH_STORE: `k8s://${namespace}/${NAME}`, ...extra,
});

describe("k8s:// store faults on a real API server (pods simulated by entrypoint processes: no kubelet)", () => {
  it("a pod whose Role lacks update on the Secret: refused before the refresh token is spent, naming the verb, the resource and the rule to add", async () => {
    const namespace = await newNamespace(world.cluster, "rbac");
    const login = world.fake.login();
    await seedKubernetesStore(adminStore(world.cluster, namespace, NAME, world.root), { claudeAiOauth: login });
    const pod = await makePod(world.cluster, namespace, "runner", "rbac-pod", world.root);
    await grantStore(world.cluster, namespace, NAME, "runner", { secret: ["get"], lease: ["get", "update"] });
    const before = { ...world.fake.stats };
    const secretBefore = await readStoreSecret(world.cluster, namespace, NAME);

    const result = await startPod(world.cluster, pod, ["refresh"], endpoint(namespace)).result;
    expect(result.status).not.toBe(0);
    expect(oneLineError(result.stderr)).toMatch(
      new RegExp(`service account ${namespace}/runner may not update secrets "${NAME}" in namespace ${namespace} \\(403 Forbidden\\): add to its Role the rule \\{apiGroups: \\[""\\], resources: \\["secrets"\\], resourceNames: \\["${NAME}"\\], verbs: \\["update"\\]\\}`),
    );
    expect(world.fake.stats.refreshOk).toBe(before.refreshOk); // the refresh token was not spent
    expect((await readStoreSecret(world.cluster, namespace, NAME)).body.metadata.resourceVersion).toBe(secretBefore.body.metadata.resourceVersion);
  });

  it("a pod whose Role has no rule for Events: the refresh is done and committed, and one warning names the rule that would record it", async () => {
    const namespace = await newNamespace(world.cluster, "noevents");
    const login = world.fake.login();
    const admin = adminStore(world.cluster, namespace, NAME, world.root);
    await seedKubernetesStore(admin, { claudeAiOauth: login });
    await ageAccessToken(admin);
    const pod = await makePod(world.cluster, namespace, "runner", "noevents-pod", world.root);
    await grantStore(world.cluster, namespace, NAME, "runner", { secret: ["get", "update"], lease: ["get", "update"], events: [] });

    const result = await startPod(world.cluster, pod, ["refresh"], endpoint(namespace, { CLAUDEAUTH_REFRESH_MARGIN: RACE_MARGIN })).result;
    expect(result.status, result.stderr).toBe(0);
    const warnings = result.stderr.split("\n").filter((line) => line.includes("event log"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`service account ${namespace}/runner may not create events`);
    expect(warnings[0]).toContain(`add to its Role the rule {apiGroups: [""], resources: ["events"], verbs: ["create"]}`);
    expect((await admin.readCurrent())?.credentials?.claudeAiOauth.refreshToken).toBe(world.fake.latestRefreshToken(login.refreshToken));
    expect((await admin.readEvents()).events).toEqual([]);
  });

  it("a Secret of the same name that is not ours: refused by pods and by the plugin, never overwritten", async () => {
    const namespace = await newNamespace(world.cluster, "foreign");
    const foreign = await api(world.cluster, "POST", `/api/v1/namespaces/${namespace}/secrets`, { metadata: { name: NAME }, stringData: { "database-password": "hunter2-hunter2" } });
    expect(foreign.status).toBe(201);
    const pod = await makePod(world.cluster, namespace, "runner", "foreign-pod", world.root);
    await grantStore(world.cluster, namespace, NAME, "runner");

    const result = await startPod(world.cluster, pod, ["refresh"], endpoint(namespace)).result;
    expect(result.status).not.toBe(0);
    expect(oneLineError(result.stderr)).toMatch(
      new RegExp(`the Secret ${namespace}/${NAME} exists and is not a claudeauth store \\(it lacks the label app.kubernetes.io/managed-by=claudeauth\\): it is left untouched; use another name`),
    );
    const after = await readStoreSecret(world.cluster, namespace, NAME);
    expect(after.body.metadata.resourceVersion).toBe(foreign.body.metadata.resourceVersion);
    expect(Buffer.from(after.body.data["database-password"], "base64").toString()).toBe("hunter2-hunter2");
  });

  it("a Secret of ours whose capture is malformed: pods refuse it in one line with the fix, and it is never overwritten", async () => {
    const namespace = await newNamespace(world.cluster, "malformed");
    const created = await api(world.cluster, "POST", `/api/v1/namespaces/${namespace}/secrets`, {
      metadata: { name: NAME, labels: { "app.kubernetes.io/managed-by": "claudeauth" }, annotations: { "claudeauth/generation": "3" } },
      data: { "capture.json.gz": Buffer.from("not a gzip stream").toString("base64") },
    });
    expect(created.status).toBe(201);
    const pod = await makePod(world.cluster, namespace, "runner", "malformed-pod", world.root);
    await grantStore(world.cluster, namespace, NAME, "runner");

    for (const mode of [["refresh"], ["run", "--user", TEST_USER, "--work-dir", pod.work, "--", "true"]]) {
      const result = await startPod(world.cluster, pod, mode, endpoint(namespace)).result;
      expect(result.status, result.stderr).not.toBe(0);
      expect(oneLineError(result.stderr)).toBe(
        `claudeauth: error: the Secret ${namespace}/${NAME} holds no usable capture (the Secret's capture does not unpack (incorrect header check)); ` +
          `log in again with "docker claudeauth setup --store k8s://${namespace}/${NAME}"`,
      );
    }
    const after = await readStoreSecret(world.cluster, namespace, NAME);
    expect(after.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
  });

  it("no in-cluster service account (KUBERNETES_SERVICE_HOST unset): one line saying where a k8s:// store works", async () => {
    const namespace = await newNamespace(world.cluster, "nosa");
    const pod = await makePod(world.cluster, namespace, "runner", "nosa-pod", world.root);
    const result = await startPod(world.cluster, pod, ["refresh"], { ...endpoint(namespace), KUBERNETES_SERVICE_HOST: "" }).result;
    expect(result.status).not.toBe(0);
    expect(oneLineError(result.stderr)).toMatch(/a k8s:\/\/ store needs the pod's service account, but KUBERNETES_SERVICE_HOST\/PORT are not set: run in a Kubernetes pod/);
  });

  it("the API server stops mid-run: the run goes on with its still-valid access token and says so; nothing is spent or lost", async () => {
    const own = startCluster(1); // a cluster of its own: the others keep theirs
    try {
      const namespace = await newNamespace(own, "down");
      const login = world.fake.login();
      const credentials = { claudeAiOauth: { ...login, expiresAt: Date.now() + 25_000 } };
      await seedKubernetesStore(adminStore(own, namespace, NAME, world.root), credentials);
      const pod = await makePod(own, namespace, "runner", "down-pod", world.root);
      await grantStore(own, namespace, NAME, "runner");
      const before = { ...world.fake.stats };

      // The token has 25 s to live and renews 5 s before it expires: the workload outlives that, with the API server down.
      const run = startPod(own, pod, ["run", "--user", TEST_USER, "--work-dir", pod.work, "--refresh-margin", "5s", "--", "sh", "-c", "echo workload-started; sleep 24; echo workload-done"], endpoint(namespace));
      await run.waitForOutput(/workload-started/, 30_000);
      stopCluster(1);
      const result = await run.result;
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain("workload-done");
      expect(result.stderr).toMatch(/cannot reach the Kubernetes API server 127\.0\.0\.1:16444 .*; the run goes on with its access token \(valid for \d+s more\)/);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(world.fake.stats.refreshOk).toBe(before.refreshOk);

      startCluster(1);
      const current = await adminStore(own, namespace, NAME, world.root).readCurrent();
      expect(current!.credentials!.claudeAiOauth.refreshToken).toBe(login.refreshToken);
      expect(world.fake.latestRefreshToken(login.refreshToken)).toBe(login.refreshToken); // unspent: nothing lost
    } finally {
      stopCluster(1);
    }
  }, 120_000);
});

describe("the plugin with a k8s:// store (kubeconfig)", () => {
  let sandbox: Sandbox;
  let kubeconfig: string;
  let scripts: string;

  beforeAll(async () => {
    await ensureImages();
    sandbox = makeSandbox("k8s", { user: HOST_USER });
    kubeconfig = path.join(sandbox.home, "kubeconfig");
    fs.copyFileSync(world.cluster.kubeconfig, kubeconfig);
    if (process.getuid?.() === 0) fs.chownSync(kubeconfig, HOST_USER.uid, HOST_USER.gid);
    scripts = scriptsDir(sandbox);
    writeScript(scripts, "login.sh", loginScript({ credentials: credentialsText("k8s"), claudeJson: claudeJsonText("k8s@example.com"), after: 'echo "scripted login done"' }));
  }, 45 * 60_000);

  afterAll(async () => {
    await sandbox?.cleanup();
  });

  it("setup --store k8s://NS/NAME logs in locally and commits to the Secret; status --json says healthy; no token in any output or event", async () => {
    const namespace = await newNamespace(world.cluster, "setup");
    const store = `k8s://${namespace}/${NAME}`;
    const setup = await plugin(sandbox, ["setup", "--store", store, "--kubeconfig", kubeconfig, "--no-tty", "--network", "none", "-v", `${scripts}:/scripts:ro`, "--", "/scripts/login.sh"]);
    expect(setup.exitCode, setup.output).toBe(0);
    expect(setup.stdout).toContain("scripted login done");
    expect(setup.stdout).toMatch(/^Logged in: profile default is ready\.$/m);
    expect(setup.stdout).toContain(`Stored in ${store} (Secret ${namespace}/${NAME}, capture #1); pods use it with CLAUDEAUTH_STORE=${store}`);

    const status = await plugin(sandbox, ["status", "--store", store, "--json"], { env: { KUBECONFIG: kubeconfig } });
    expect(status.exitCode, status.output).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({ healthy: true, store: { kind: "k8s", location: store } });

    const secret = await readStoreSecret(world.cluster, namespace, NAME);
    expect(secret.body.metadata.labels).toMatchObject({ "app.kubernetes.io/managed-by": "claudeauth" });
    expect((await api(world.cluster, "GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${NAME}-refresh`)).status).toBe(200);
    const events = await api(world.cluster, "GET", `/api/v1/namespaces/${namespace}/events`);
    expect(JSON.stringify(events.body)).not.toMatch(/sk-ant-/);
    expect(JSON.stringify(secret.body.metadata)).not.toMatch(/sk-ant-/);
  }, 300_000);

  it("no kubeconfig: one line with the fix", async () => {
    const status = await plugin(sandbox, ["status", "--store", "k8s://claude/claude-login"], { env: { KUBECONFIG: path.join(sandbox.home, "missing") } });
    expect(status.exitCode).not.toBe(0);
    expect(oneLineError(status.stderr)).toMatch(/no kubeconfig: .*missing does not exist; pass --kubeconfig FILE or set KUBECONFIG/);
  });
});
