// The encrypted store: a profile kept by a Docker credential helper, here Debian's
// docker-credential-pass over a throw-away GPG key, with the real engine, the real images and
// the real Claude CLI against the fake endpoint. setup (a scripted login fed on stdin), run
// with a refresh, status, logout, setup --from; then no file in /tmp, the home or Docker's data root holds any token
// of the login: the capture lived in pass (encrypted), the plugin's memory, a unix socket and
// the containers' tmpfs only. Logout keeps the settings and drops the tokens. Then the faults: a missing helper, an undecryptable store, a
// helper that hangs or answers garbage, a remote engine.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeJson } from "../../core/credentials";
import { bundleText, parseBundle } from "../../core/capture-bundle";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { trackSecret } from "../support/token-scan";
import { docker, ensureImages, makeSandbox, plugin, writeScript, type Sandbox } from "../support/docker";
import { makePassStore, type PassStore } from "../support/pass-store";

const CA_IN_CONTAINER = "/etc/claudeauth-test-ca.pem";
let fake: FakeAnthropic;
let sandbox: Sandbox;
let pass: PassStore;
let endpoint: string[];
let loginRefreshToken = "";

beforeAll(async () => {
  await ensureImages();
  fake = await startFakeAnthropic();
  sandbox = makeSandbox("helper");
  pass = makePassStore();
  Object.assign(sandbox.env, pass.env);
  endpoint = ["--network", "host", "-e", `HTTPS_PROXY=${fake.proxyUrl}`, "-e", `NODE_EXTRA_CA_CERTS=${CA_IN_CONTAINER}`, "-v", `${fake.caPath}:${CA_IN_CONTAINER}:ro`];
});

afterAll(async () => {
  await sandbox?.cleanup();
  pass?.cleanup();
  await fake?.close();
});

/** What pass holds for a profile, decrypted by the helper itself (never through a scanned output). */
function helperEntry(profile: string) {
  const answer = execFileSync("docker-credential-pass", ["get"], { input: `claudeauth://${profile}`, env: { ...process.env, ...pass.env } }).toString("utf8");
  const bundle = parseBundle(JSON.parse(answer).Secret);
  const credentials = bundleText(bundle, ".credentials.json");
  return { bundle, credentials: credentials === null ? null : JSON.parse(credentials) };
}

/**
 * Files under `roots` changed since `since` (ms) that hold any of `tokens`: a token of a login
 * made during the test can only be in a file written since. grep reads the tokens on stdin,
 * so they are never in a file or an argument.
 */
function filesHolding(tokens: string[], roots: string[], since: number): string[] {
  const found = spawnSync("find", [...roots, "-type", "f", "-newermt", `@${Math.floor(since / 1000) - 1}`, "-print0"], { maxBuffer: 256 * 1024 * 1024 });
  const files = found.stdout.toString("utf8").split("\0").filter(Boolean);
  const hits: string[] = [];
  for (let i = 0; i < files.length; i += 500) {
    const result = spawnSync("grep", ["-lsF", "-f", "-", "--", ...files.slice(i, i + 500)], { input: tokens.join("\n") + "\n", maxBuffer: 64 * 1024 * 1024 });
    hits.push(...result.stdout.toString("utf8").split("\n").filter(Boolean));
  }
  return hits;
}

describe("a store in docker-credential-pass, end to end", () => {
  it("setup, run with a refresh, status: the helper holds the newest pair; no file on the host holds a token", { timeout: 300_000 }, async () => {
    const started = Date.now();
    const credentials = { claudeAiOauth: fake.login({ accessTokenTtlSeconds: 300 }) };
    trackSecret(credentials.claudeAiOauth.accessToken);
    trackSecret(credentials.claudeAiOauth.refreshToken);
    loginRefreshToken = credentials.claudeAiOauth.refreshToken;

    // The scripted login writes what it reads on stdin, as the CLI writes its login: into the setup container's tmpfs home.
    const login = 'umask 077; mkdir -p "$HOME/.claude"; cat > "$HOME/.claude/.credentials.json.tmp"; mv -f "$HOME/.claude/.credentials.json.tmp" "$HOME/.claude/.credentials.json"';
    const setup = await plugin(sandbox, ["setup", "--store", "helper:pass", "--no-tty", "--network", "none", "--", "sh", "-c", login], { input: serializeJson(credentials) });
    expect(setup.exitCode, setup.output).toBe(0);
    expect(setup.stdout).toMatch(/^Logged in: profile default is ready\.$/m);
    const afterSetup = helperEntry("default");
    expect(afterSetup.credentials.claudeAiOauth.refreshToken).toBe(loginRefreshToken);

    const refreshes = fake.stats.refreshOk;
    const messages = fake.stats.messagesOk;
    // The workload cannot even look where the channel was mounted (root's 0700 directory).
    const workload = "! ls /var/lib/claudeauth/channel >/dev/null 2>&1 && claude -p hello --no-session-persistence --output-format json";
    const run = await plugin(sandbox, ["run", "--store", "helper:pass", "--no-workspace", ...endpoint, "--", "sh", "-c", workload]);
    expect(run.exitCode, run.output).toBe(0);
    expect(JSON.parse(run.stdout.trim().split("\n").pop()!)).toMatchObject({ is_error: false });
    expect(fake.stats.messagesOk).toBeGreaterThan(messages);
    expect(fake.stats.refreshOk).toBe(refreshes + 1);

    const family = fake.family(loginRefreshToken)!;
    const entry = helperEntry("default");
    expect(entry.bundle.generation).toBeGreaterThan(afterSetup.bundle.generation);
    expect(entry.credentials.claudeAiOauth).toMatchObject({ accessToken: family.accessTokens.at(-1), refreshToken: family.refreshTokens.at(-1) });

    const status = await plugin(sandbox, ["status", "--store", "helper:pass", "--json"]);
    expect(status.exitCode, status.output).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      healthy: true,
      store: { kind: "helper", location: "helper:pass" },
      capture: { generation: entry.bundle.generation, source: "refresh" },
      refreshToken: { present: true },
    });

    // Logging out keeps the entry's settings and drops its tokens; the user is told where to revoke them.
    const logout = await plugin(sandbox, ["logout", "--store", "helper:pass"]);
    expect(logout.exitCode, logout.output).toBe(0);
    expect(logout.stdout).toMatch(/^logged out profile default: docker-credential-pass \(claudeauth:\/\/default\) holds no login any more .*\nThe tokens stay valid at Anthropic until they expire: to revoke this login now, open claude\.ai/);
    const loggedOut = helperEntry("default");
    expect([loggedOut.bundle.generation, loggedOut.credentials]).toEqual([entry.bundle.generation + 1, null]);
    const after = await plugin(sandbox, ["status", "--store", "helper:pass", "--json"]);
    expect([after.exitCode, JSON.parse(after.stdout).capture]).toMatchObject([1, { source: "logout" }]);

    // A login handed in (setup --from -, as the macOS keychain prints it) goes through the entrypoint over the channel.
    const handedIn = { claudeAiOauth: { ...credentials.claudeAiOauth, accessToken: family.accessTokens.at(-1)!, refreshToken: family.refreshTokens.at(-1)!, expiresAt: Date.now() + 3_600_000 } };
    const imported = await plugin(sandbox, ["setup", "--store", "helper:pass", "--from", "-"], { input: serializeJson(handedIn) });
    expect(imported.exitCode, imported.output).toBe(0);
    expect(helperEntry("default").credentials).toEqual(handedIn);

    const dataRoot = (await docker(["info", "--format", "{{.DockerRootDir}}"])).stdout.trim();
    expect(fs.existsSync(dataRoot), dataRoot).toBe(true);
    const tokens = [...family.accessTokens, ...family.refreshTokens];
    expect(tokens.length).toBe(4); // the login's pair and the refresh's
    expect(filesHolding(tokens, [os.tmpdir(), sandbox.home, dataRoot], started)).toEqual([]);
    // The scan does find a token where there is one.
    const planted = path.join(sandbox.dir, "planted");
    fs.writeFileSync(planted, `x${loginRefreshToken}x`);
    expect(filesHolding(tokens, [sandbox.dir], started)).toEqual([planted]);
    fs.rmSync(planted);
  });
});

describe("faults of a helper store: one line with the fix, nothing lost", () => {
  let fakes: string;
  let onPath: { PATH: string };
  beforeAll(() => {
    fakes = path.join(sandbox.dir, "helpers");
    fs.mkdirSync(fakes, { mode: 0o755 });
    writeScript(fakes, "docker-credential-hang", "exec sleep 600\n");
    writeScript(fakes, "docker-credential-garbage", "cat >/dev/null; echo 'this is not JSON'\n");
    onPath = { PATH: `${fakes}:${process.env.PATH}` };
  });

  it("a helper that is not installed: names the package to install", async () => {
    const missing = await plugin(sandbox, ["status", "--store", "helper:nosuch"]);
    expect([missing.exitCode, missing.stderr.trim()]).toEqual([1, "error: docker-credential-nosuch is not installed (not on PATH): put docker-credential-nosuch on PATH"]);
    const noPass = await plugin(sandbox, ["status", "--store", "helper:pass"], { env: { PATH: fakes } });
    expect(noPass.exitCode).toBe(1);
    expect(noPass.stderr).toBe("error: docker-credential-pass is not installed (not on PATH): Debian/Ubuntu: apt-get install golang-docker-credential-helpers pass (then pass init YOUR-GPG-KEY-ID)");
  });

  it("a helper that hangs: a bounded wait, then one line; the helper is killed", async () => {
    const run = await plugin(sandbox, ["status", "--store", "helper:hang"], { env: { ...onPath, CLAUDEAUTH_HELPER_TIMEOUT: "2s" } });
    expect([run.exitCode, run.stderr.trim()]).toEqual([
      1,
      "error: docker-credential-hang did not answer get within 2s: unlock the keychain or the GPG key if it waits for one (CLAUDEAUTH_HELPER_TIMEOUT sets the wait)",
    ]);
    expect(run.ms).toBeLessThan(10_000);
    expect(spawnSync("pgrep", ["-f", "docker-credential-hang"]).status).toBe(1);
  });

  it("a helper that answers malformed JSON", async () => {
    const run = await plugin(sandbox, ["status", "--store", "helper:garbage"], { env: onPath });
    expect([run.exitCode, run.stderr.trim()]).toEqual([1, "error: the credential helper answered get with malformed JSON"]);
  });

  it("a remote engine: refused before anything runs, saying what works", async () => {
    const run = await plugin(sandbox, ["-H", "tcp://127.0.0.1:9", "run", "--store", "helper:pass", "--no-workspace"]);
    expect([run.exitCode, run.stderr.trim()]).toEqual([
      125,
      "error: a store in docker-credential-pass works with a Docker engine on this machine only (the engine is at tcp://127.0.0.1:9): use a local engine, or keep this profile's store in a volume (--store-volume NAME)",
    ]);
  });

  it("an undecryptable store (the GPG key removed): status, run and setup stop in one line; the entry is kept", async () => {
    expect(loginRefreshToken, "runs after the end-to-end test").not.toBe("");
    pass.removeSecretKey();
    const fix = /cannot decrypt \(exit status 2: gpg: decryption failed: No secret key\): make the GPG key of the password store available/;
    const status = await plugin(sandbox, ["status", "--store", "helper:pass"]);
    expect(status.exitCode).toBe(1);
    expect(status.stderr).toBe("error: docker-credential-pass cannot decrypt (exit status 2: gpg: decryption failed: No secret key): make the GPG key of the password store available (gpg --list-secret-keys; unlock it with gpg-agent)");
    const run = await plugin(sandbox, ["run", "--store", "helper:pass", "--no-workspace", "--network", "none", "--", "true"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(fix);
    const setup = await plugin(sandbox, ["setup", "--store", "helper:pass", "--no-tty", "--network", "none", "--", "true"]);
    expect(setup.exitCode).toBe(1);
    expect(setup.stderr).toMatch(fix);
    const list = execFileSync("docker-credential-pass", ["list"], { env: { ...process.env, ...pass.env } }).toString("utf8");
    expect(JSON.parse(list)).toEqual({ "claudeauth://default": "claudeauth" });
  });
});
