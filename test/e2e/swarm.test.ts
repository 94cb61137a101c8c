// Docker Swarm: `docker claudeauth swarm secret` against a real swarm (scripts/swarm-engine.sh: a
// second dockerd as the manager on 127.0.0.1, a third joined as a worker on 127.0.0.2; the test
// engine itself is never put into swarm mode). Services of the real production image run the real
// Claude CLI logged in from the secret, against the fake Anthropic endpoint on the host network.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { commit } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { serializeJson } from "../../core/credentials";
import { expectNoTokens } from "../support/tokens";
import { scanOutput } from "../support/token-scan";
import { claudeJson, ensureImages, pluginBinary, RUN_IMAGE, ROOT, sha256, TOKEN_HASHES } from "../support/images";

const TEST_ENGINE = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
let manager = "";
let worker = "";
let fake: FakeAnthropic;
let scratch = "";
const PREFIX = `caswarm${process.pid}`;

type Result = { exitCode: number; stdout: string; stderr: string };

beforeAll(async () => {
  await ensureImages();
  const started = await execa("bash", [path.join(ROOT, "scripts/swarm-engine.sh"), "--worker", RUN_IMAGE], { env: { DOCKER_HOST: TEST_ENGINE }, reject: false });
  if (started.exitCode !== 0) throw new Error(`scripts/swarm-engine.sh failed: ${started.stderr}`);
  manager = /^manager=(.*)$/m.exec(started.stdout)![1]!;
  worker = /^worker=(.*)$/m.exec(started.stdout)![1]!;
  fake = await startFakeAnthropic();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-swarm-"));
}, 600_000);

afterAll(async () => {
  if (manager) {
    const services = (await swarmDocker(["service", "ls", "--quiet", "--filter", `name=${PREFIX}`])).stdout.split("\n").filter(Boolean);
    if (services.length) await swarmDocker(["service", "rm", ...services]);
    const secrets = (await swarmDocker(["secret", "ls", "--quiet", "--filter", `name=${PREFIX}`])).stdout.split("\n").filter(Boolean);
    // Tasks of removed services let go of their secrets a moment later.
    for (let i = 0; i < 20 && secrets.length; i++) {
      if ((await swarmDocker(["secret", "rm", ...secrets])).exitCode === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  if (manager) {
    const volumes = (await swarmDocker(["volume", "ls", "--quiet", "--filter", `name=${PREFIX}`])).stdout.split("\n").filter(Boolean);
    if (volumes.length) await swarmDocker(["volume", "rm", ...volumes]);
  }
  await fake?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function swarmDocker(args: string[], host = manager): Promise<Result> {
  const result = await execa("docker", args, { env: { DOCKER_HOST: host }, reject: false, stdin: "ignore" });
  const run = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? "") };
  scanOutput(`docker ${args[0]}`, run.stdout, run.stderr);
  return run;
}

/** The plugin (dist/docker-claudeauth) against `host`, as cron on a manager would run it. */
async function plugin(args: string[], host = manager): Promise<Result> {
  const result = await execa(pluginBinary(), args, { env: { DOCKER_HOST: host, HOME: scratch, PATH: process.env.PATH! }, extendEnv: false, reject: false, stdin: "ignore" });
  const run = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? "") };
  expectNoTokens(run);
  return run;
}

/** A store holding `credentials` (as a setup leaves it), with its own secret name. */
async function storeWith(name: string, credentials: object): Promise<{ dir: string; flags: string[] }> {
  const dir = path.join(scratch, name);
  await commit(
    new DirStore(dir),
    (draft) => {
      fs.writeFileSync(path.join(draft, ".credentials.json"), serializeJson(credentials), { mode: 0o600 });
      fs.writeFileSync(path.join(draft, ".claude.json"), serializeJson(claudeJson("swarm@example.com")), { mode: 0o600 });
    },
    { source: "test", mode: "oauth" },
  );
  return { dir, flags: ["--store", dir, "--name", `${PREFIX}-${name}`] };
}

/** The `docker service create` flags the plugin printed, between the command and the image. */
function printedServiceFlags(stdout: string): string[] {
  const joined = stdout.replace(/\\\n\s*/g, " ");
  const line = /docker service create --name SERVICE (.*?) claudeauth\/run:\S+ claude/.exec(joined);
  if (!line) throw new Error(`no docker service create line in:\n${stdout}`);
  return line[1]!.trim().split(/\s+/);
}

/** Flags that reach the fake endpoint on the host's loopback and trust its CA. */
function fakeEndpointFlags(): string[] {
  return ["--network", "host", "--env", `HTTPS_PROXY=${fake.proxyUrl}`, "--env", "NODE_EXTRA_CA_CERTS=/fake-ca.pem", "--mount", `type=bind,source=${fake.caPath},target=/fake-ca.pem,readonly`];
}

/** Quick to stop; a service (not a job: jobs take no update settings) also quick to update. */
const QUICK = ["--stop-grace-period", "1s", "--health-interval", "3s", "--health-timeout", "60s"];
const QUICK_UPDATES = [...QUICK, "--update-monitor", "1s", "--update-delay", "0s"];

/** A one-shot job (no restarts); resolves with its final task state and its output. */
async function runJob(name: string, flags: string[], command: string[]): Promise<{ state: string; logs: string; node: string }> {
  const created = await swarmDocker(["service", "create", "--detach", "--quiet", "--name", name, "--mode", "replicated-job", "--restart-condition", "none", ...flags, RUN_IMAGE, ...command]);
  expect(created.exitCode, created.stderr).toBe(0);
  let state = "";
  for (let i = 0; i < 240 && !/^(Complete|Failed|Rejected)/.test(state); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    state = (await swarmDocker(["service", "ps", "--format", "{{.CurrentState}}", name])).stdout.trim().split("\n")[0] ?? "";
  }
  const logs = await swarmDocker(["service", "logs", "--raw", name]);
  const node = (await swarmDocker(["service", "ps", "--format", "{{.Node}} {{.ID}}", name])).stdout.trim();
  const taskNode = (await swarmDocker(["inspect", "--format", "{{.NodeID}}", node.split(" ")[1] ?? ""])).stdout.trim();
  return { state, logs: logs.stdout + logs.stderr, node: taskNode };
}

/** The real CLI says it is logged in, from the secret (no network needed). */
const AUTH_STATUS = `claude auth status --json | grep -q '"loggedIn": true' && echo "claude: logged in as $(claude auth status --json | jq -r .email)"`;

/** The workload's view: which tokens it holds, whether claude answers, whether it can read the secret. */
const PROBE = [
  TOKEN_HASHES,
  '{ cat "$CLAUDE_CONFIG_DIR"/.credentials.json; env; } | token_hashes | sort -u | sed "s/^/seen /"',
  'cat /run/secrets/claudeauth >/dev/null 2>&1 && echo "secret: readable" || echo "secret: denied"',
  AUTH_STATUS,
  'claude -p test --no-session-persistence --output-format json | grep -q \'"is_error":false\' && echo "claude: answered" || echo "claude: failed"',
].join("\n");

async function nodeId(host: string): Promise<string> {
  return (await swarmDocker(["info", "--format", "{{.Swarm.NodeID}}"], host)).stdout.trim();
}

describe("Docker Swarm secret (second dockerd in swarm mode)", { timeout: 300_000 }, () => {
  it("a job runs the real Claude CLI logged in from the secret (OAuth: access token only), on a worker node too", async () => {
    const login = fake.login();
    const store = await storeWith("oauth", { claudeAiOauth: login });
    const made = await plugin(["swarm", "secret", ...store.flags]);
    expect(made.exitCode, made.stderr).toBe(0);
    // It says plainly what an OAuth login means in a swarm, and how cron keeps services working.
    expect(made.stdout).toMatch(/OAuth access token only/);
    expect(made.stdout).toMatch(/services cannot refresh it .* The access token expires/s);
    expect(made.stdout).toMatch(/fails with 401 \(not logged in\)/);
    expect(made.stdout).toMatch(/\*\/30 \* \* \* \* docker claudeauth refresh .*--if-expiring-within 2h && docker claudeauth swarm secret .*--rotate SERVICE\.\.\. --prune/);
    const name = `${PREFIX}-oauth-1`;
    const labels = JSON.parse((await swarmDocker(["secret", "inspect", "--format", "{{json .Spec.Labels}}", name])).stdout);
    expect(labels).toMatchObject({ "io.claudeauth.profile": "default", "io.claudeauth.generation": "1", "io.claudeauth.mode": "oauth", "io.claudeauth.refresh-token": "omitted" });

    const flags = [...printedServiceFlags(made.stdout), ...fakeEndpointFlags(), ...QUICK];
    const onManager = runJob(`${PREFIX}-job`, flags, ["sh", "-c", PROBE]);
    const onWorker = runJob(`${PREFIX}-job-worker`, [...flags, "--constraint", "node.role==worker"], ["sh", "-c", AUTH_STATUS]);
    const [a, b] = await Promise.all([onManager, onWorker]);
    expect(b.node).toBe(await nodeId(worker));
    for (const job of [a, b]) {
      expect(job.state, job.logs).toMatch(/^Complete/);
      expect(job.logs).toContain("claude: logged in as swarm@example.com");
    }
    // The workload holds the access token, not the refresh token, cannot read the secret, and the API answers it.
    const seen = new Set([...a.logs.matchAll(/^seen ([0-9a-f]{64})$/gm)].map((m) => m[1]));
    expect(seen.has(sha256(login.accessToken)), a.logs).toBe(true);
    expect(seen.has(sha256(login.refreshToken))).toBe(false);
    expect(a.logs).toContain("secret: denied");
    expect(a.logs).toContain("claude: answered");
    expect(fake.stats.messagesOk).toBeGreaterThanOrEqual(1);
    expect(fake.stats.refreshOk + fake.stats.invalidGrant).toBe(0);
  });

  it("a Docker volume store on the manager: read by the entrypoint in a container, the secret without the refresh token", async () => {
    const login = fake.login();
    const file = path.join(scratch, "volume-login.json");
    fs.writeFileSync(file, serializeJson({ claudeAiOauth: login }), { mode: 0o600 });
    const volume = `${PREFIX}-store`;
    const imported = await plugin(["setup", "--from", file, "--store-volume", volume]);
    expect(imported.exitCode, imported.stderr).toBe(0);
    const made = await plugin(["swarm", "secret", "--store-volume", volume, "--name", `${PREFIX}-vol`]);
    expect(made.exitCode, made.stderr).toBe(0);
    const labels = JSON.parse((await swarmDocker(["secret", "inspect", "--format", "{{json .Spec.Labels}}", `${PREFIX}-vol-1`])).stdout);
    expect(labels).toMatchObject({ "io.claudeauth.generation": "1", "io.claudeauth.mode": "oauth", "io.claudeauth.refresh-token": "omitted" });

    const job = await runJob(`${PREFIX}-vol-job`, [...printedServiceFlags(made.stdout), ...fakeEndpointFlags(), ...QUICK], ["sh", "-c", PROBE]);
    expect(job.state, job.logs).toMatch(/^Complete/);
    const seen = new Set([...job.logs.matchAll(/^seen ([0-9a-f]{64})$/gm)].map((m) => m[1]));
    expect(seen.has(sha256(login.accessToken)), job.logs).toBe(true);
    expect(seen.has(sha256(login.refreshToken))).toBe(false);
    expect(job.logs).toContain("claude: answered");
    // The store kept its refresh token: it is the one that renews the login.
    expect(fake.stats.refreshOk + fake.stats.invalidGrant).toBe(0);
  });

  it("--rotate moves a running service to the new version after the store's refresh; --prune removes the old one", async () => {
    const login = fake.login();
    const store = await storeWith("rotate", { claudeAiOauth: login });
    const made = await plugin(["swarm", "secret", ...store.flags]);
    expect(made.exitCode, made.stderr).toBe(0);
    const service = `${PREFIX}-svc`;
    const script = `${TOKEN_HASHES}\n{ cat "$CLAUDE_CONFIG_DIR"/.credentials.json; } | token_hashes | sed "s/^/holds /"; exec sleep 300`;
    const created = await swarmDocker(["service", "create", "--quiet", "--name", service, ...printedServiceFlags(made.stdout), ...fakeEndpointFlags(), ...QUICK_UPDATES, RUN_IMAGE, "sh", "-c", script]);
    expect(created.exitCode, created.stderr).toBe(0);

    // Cron on a manager: refresh the store (a container on the manager), then rotate.
    const refreshed = await plugin(["refresh", "--store", store.dir, "--network", "host", "-e", `HTTPS_PROXY=${fake.proxyUrl}`, "-e", "NODE_EXTRA_CA_CERTS=/fake-ca.pem", "-v", `${fake.caPath}:/fake-ca.pem:ro`]);
    expect(refreshed.exitCode, refreshed.stderr).toBe(0);
    const started = performance.now();
    const rotated = await plugin(["swarm", "secret", ...store.flags, "--rotate", service, "--prune"]);
    const rotateMs = performance.now() - started;
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    expect(rotated.stderr).toContain(`moved service ${service} from ${PREFIX}-rotate-1 to ${PREFIX}-rotate-2`);
    expect(rotated.stderr).toContain(`removed the Swarm secret ${PREFIX}-rotate-1`);
    console.log(`swarm: --rotate of a running service took ${Math.round(rotateMs)} ms`);

    const spec = JSON.parse((await swarmDocker(["service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}", service])).stdout);
    expect(spec).toEqual([expect.objectContaining({ SecretName: `${PREFIX}-rotate-2`, File: { Name: "claudeauth", UID: "0", GID: "0", Mode: 0o400 } })]);
    expect((await swarmDocker(["secret", "ls", "--format", "{{.Name}}", "--filter", `name=${PREFIX}-rotate`])).stdout.trim()).toBe(`${PREFIX}-rotate-2`);
    // The running task now holds the rotated access token; nothing was spent in the swarm.
    const newest = fake.latestAccessToken(login.refreshToken)!;
    let logs = "";
    for (let i = 0; i < 80 && !logs.includes(`holds ${sha256(newest)}`); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      logs = (await swarmDocker(["service", "logs", "--raw", service])).stdout;
    }
    expect(logs).toContain(`holds ${sha256(login.accessToken)}`);
    expect(logs).toContain(`holds ${sha256(newest)}`);
    expect(fake.stats.refreshOk).toBe(1);
    expect(fake.stats.invalidGrant + fake.stats.familiesRevoked).toBe(0);
    // Rotating again with nothing new is a no-op that says so.
    const again = await plugin(["swarm", "secret", ...store.flags, "--rotate", service]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain(`service ${service} already uses ${PREFIX}-rotate-2`);
  });

  it("faults: not in swarm mode, a worker, a name clash, a secret still used by a finished job", async () => {
    const store = await storeWith("faults", { claudeAiOauth: fake.login() });
    // One error line (progress lines may come before it), a non-zero exit, no stack trace.
    const oneLine = (r: Result) => {
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr.split("\n").filter((line) => line.startsWith("error: "))).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    };
    // The test engine is not in swarm mode (and is never put into it).
    const plain = await plugin(["swarm", "secret", ...store.flags], TEST_ENGINE);
    oneLine(plain);
    expect(plain.stderr).toMatch(/is not in swarm mode \(inactive\): point docker at a Swarm manager/);
    const onWorker = await plugin(["swarm", "secret", ...store.flags], worker);
    oneLine(onWorker);
    expect(onWorker.stderr).toMatch(/is a Swarm worker, not a manager: point docker at a manager/);

    // A secret of that name that is not ours is left as it is.
    const clash = `${PREFIX}-clash-1`;
    expect((await execa("docker", ["secret", "create", clash, "-"], { env: { DOCKER_HOST: manager }, input: "someone else's\n" })).exitCode).toBe(0);
    const clashed = await plugin(["swarm", "secret", "--store", store.dir, "--name", `${PREFIX}-clash`]);
    oneLine(clashed);
    expect(clashed.stderr).toMatch(new RegExp(`a Swarm secret named ${clash} exists and was not made by docker claudeauth .* choose another name with --name`));
    expect((await swarmDocker(["secret", "inspect", "--format", "{{json .Spec.Labels}}", clash])).stdout.trim()).toMatch(/^(null|\{\})$/);

    // A finished job keeps its secret: --prune keeps it, says why and what to do.
    const made = await plugin(["swarm", "secret", ...store.flags]);
    expect(made.exitCode, made.stderr).toBe(0);
    const job = await runJob(`${PREFIX}-done`, [...printedServiceFlags(made.stdout)], ["true"]);
    expect(job.state, job.logs).toMatch(/^Complete/);
    await commit(new DirStore(store.dir), (draft) => {
      fs.writeFileSync(path.join(draft, ".credentials.json"), serializeJson({ claudeAiOauth: fake.login() }), { mode: 0o600 });
    }, { source: "test", mode: "oauth" });
    const pruned = await plugin(["swarm", "secret", ...store.flags, "--prune"]);
    oneLine(pruned);
    expect(pruned.stderr).toMatch(new RegExp(`kept the Swarm secret ${PREFIX}-faults-1: the finished job ${PREFIX}-done still refers to it .*docker service rm ${PREFIX}-done`));
    expect((await swarmDocker(["secret", "inspect", `${PREFIX}-faults-1`])).exitCode).toBe(0);
    expect((await swarmDocker(["service", "rm", `${PREFIX}-done`])).exitCode).toBe(0);
    let after: Result = pruned;
    for (let i = 0; i < 20 && after.exitCode !== 0; i++) after = await plugin(["swarm", "secret", ...store.flags, "--prune"]);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(after.stderr).toContain(`removed the Swarm secret ${PREFIX}-faults-1`);
  });

  it("the refresh token goes in only with --include-refresh-token, and a secret the workload could read is refused", async () => {
    const login = fake.login();
    const store = await storeWith("insist", { claudeAiOauth: login });
    const made = await plugin(["swarm", "secret", ...store.flags, "--include-refresh-token"]);
    expect(made.exitCode, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/holds the store's refresh token .* they never refresh from a secret\. .* revoke the whole login/);
    expect(made.stdout).toContain("OAuth login with its refresh token");
    const labels = JSON.parse((await swarmDocker(["secret", "inspect", "--format", "{{json .Spec.Labels}}", `${PREFIX}-insist-1`])).stdout);
    expect(labels["io.claudeauth.refresh-token"]).toBe("included");
    // Swarm's default mode (0444) would let the workload read the refresh token: the entrypoint stops first.
    const job = await runJob(`${PREFIX}-readable`, ["--secret", `source=${PREFIX}-insist-1,target=claudeauth`], ["sh", "-c", "echo WORKLOAD-RAN"]);
    expect(job.state).toMatch(/^Failed/);
    expect(job.logs).not.toContain("WORKLOAD-RAN");
    expect(job.logs).toMatch(/the store \/run\/secrets\/claudeauth is readable by the workload \(uid \d+\): add uid=0,gid=0,mode=0400/);
    expect(fake.stats.invalidGrant + fake.stats.familiesRevoked).toBe(0);
  });
});
