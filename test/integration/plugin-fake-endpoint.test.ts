// The plugin's network-facing commands against the fake Anthropic endpoint (an HTTPS-
// intercepting proxy on 127.0.0.1, so containers use --network host): `test` says ok and
// token rejected, `refresh` rotates the store's tokens single-flight, and long-lived mode
// works end to end with the real Claude CLI. Every output is scanned for tokens.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeJson } from "../../core/credentials";
import { trackSecret } from "../support/token-scan";
import { DirStore } from "../../core/store-dir";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { claudeJsonText, seedStore } from "../support/fixtures";
import { docker, ensureImages, makeSandbox, plugin, scriptsDir, spawnAs, writeScript, type Sandbox } from "../support/docker";

const ME = { uid: process.getuid!(), gid: process.getgid!() };
const CA_IN_CONTAINER = "/etc/claudeauth-test-ca.pem";
let fake: FakeAnthropic;
let sandbox: Sandbox;
let endpoint: string[];

beforeAll(async () => {
  await ensureImages();
  fake = await startFakeAnthropic();
  sandbox = makeSandbox("fake");
  endpoint = ["--network", "host", "-e", `HTTPS_PROXY=${fake.proxyUrl}`, "-e", `NODE_EXTRA_CA_CERTS=${CA_IN_CONTAINER}`, "-v", `${fake.caPath}:${CA_IN_CONTAINER}:ro`];
});

afterAll(async () => {
  await sandbox?.cleanup();
  await fake?.close();
});

async function seedLogin(profile: string, accessTokenTtlSeconds?: number) {
  const credentials = { claudeAiOauth: fake.login(accessTokenTtlSeconds ? { accessTokenTtlSeconds } : {}) };
  trackSecret(credentials.claudeAiOauth.accessToken);
  trackSecret(credentials.claudeAiOauth.refreshToken);
  const dir = path.join(sandbox.hub, profile);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  await seedStore(dir, { ".credentials.json": serializeJson(credentials), ".claude.json": claudeJsonText(`${profile}@example.com`) }, ME);
  return { dir, credentials };
}

describe("test", () => {
  it("a live login: ok, the API answered", async () => {
    await seedLogin("live");
    const before = fake.stats.messagesOk;
    const run = await plugin(sandbox, ["test", "--profile", "live", ...endpoint]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/^ok: the Claude API accepted profile live's login \(answered in /);
    expect(fake.stats.messagesOk).toBeGreaterThan(before);
  });

  it("a revoked login: token rejected (401), next step is to log in again", async () => {
    const { credentials } = await seedLogin("revoked");
    fake.revokeFamily(credentials.claudeAiOauth.accessToken);
    const run = await plugin(sandbox, ["test", "--profile", "revoked", "--json", ...endpoint]);
    expect(run.exitCode, run.output).toBe(1);
    const verdict = JSON.parse(run.stdout);
    expect(verdict).toMatchObject({ result: "token-rejected", next: "log in again: docker claudeauth setup --profile revoked" });
    expect(verdict.detail).toMatch(/HTTP 401|rejected/);
  });
});

describe("refresh", () => {
  it("--if-expiring-within: rotates a token about to expire, once; the store holds the newest pair", async () => {
    const { dir, credentials } = await seedLogin("rotate", 300);
    const refreshes = fake.stats.refreshOk;
    const rejected = fake.stats.invalidGrant + fake.stats.tokenRequestsRefused;
    const run = await plugin(sandbox, ["refresh", "--profile", "rotate", "--if-expiring-within", "1h", ...endpoint]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/^refreshed profile rotate: access token expires in 7h 59m .* \(capture #2\)$/);
    expect(fake.stats.refreshOk).toBe(refreshes + 1);
    const family = fake.family(credentials.claudeAiOauth.refreshToken)!;
    expect(family.refreshTokens).toHaveLength(2); // the login's, and the one refresh made
    expect(new DirStore(dir).readCurrentSync()!.credentials!.claudeAiOauth).toMatchObject({ accessToken: family.accessTokens[1], refreshToken: family.refreshTokens[1] });
    const again = await plugin(sandbox, ["refresh", "--profile", "rotate", "--if-expiring-within", "1h", ...endpoint]);
    expect(again.stdout).toMatch(/nothing to do$/);
    expect(fake.stats.refreshOk).toBe(refreshes + 1);
    expect(fake.stats.invalidGrant + fake.stats.tokenRequestsRefused).toBe(rejected);
    const status = await plugin(sandbox, ["status", "--profile", "rotate", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ healthy: true, capture: { generation: 2, source: "refresh" } });
  });

  it("a refresh token the endpoint rejects: fails, says to log in again, the store is unchanged", async () => {
    const { dir, credentials } = await seedLogin("rejected", 300);
    fake.revokeFamily(credentials.claudeAiOauth.refreshToken);
    const before = { ok: fake.stats.refreshOk, invalid: fake.stats.invalidGrant };
    const run = await plugin(sandbox, ["refresh", "--profile", "rejected", ...endpoint]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: refresh failed: the token endpoint rejected the store's refresh token .*docker claudeauth setup/);
    expect({ ok: fake.stats.refreshOk, invalid: fake.stats.invalidGrant }).toEqual({ ok: before.ok, invalid: before.invalid + 1 });
    expect(fs.readdirSync(path.join(dir, "captures"))).toEqual(["00000001"]);
    expect(new DirStore(dir).readCurrentSync()!.credentials!.claudeAiOauth).toMatchObject({ accessToken: credentials.claudeAiOauth.accessToken, refreshToken: credentials.claudeAiOauth.refreshToken });
    // status knows the refresh token is dead: runs work until the access token expires, then not.
    const status = await plugin(sandbox, ["status", "--profile", "rejected", "--format", "json"]);
    expect(status.exitCode, status.output).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({ healthy: true, refreshToken: { rejected: true } });
    expect(json.warnings).toContainEqual(expect.objectContaining({ message: expect.stringMatching(/^the token endpoint rejected the refresh token: runs work until the access token expires in \d/) }));
    // No warning points at refresh: it cannot help; a new login does.
    expect(json.warnings.map((w: { fix?: string }) => w.fix)).not.toContain("docker claudeauth refresh --profile rejected");
  });
});

describe("setup that captures nothing", () => {
  it("with Anthropic reachable (through the proxy): the login hint, said once; the store setup created is removed", async () => {
    const run = await plugin(sandbox, ["setup", "--profile", "quit", "--no-tty", ...endpoint, "sh", "-c", "exit 0"]);
    expect(run.exitCode, run.output).toBe(1);
    expect(run.stderr).toMatch(/^error: the login did not complete: nothing was captured into \S+quit; run "docker claudeauth setup --profile quit" again and finish the login \(\/login in claude\) before you exit$/m);
    expect(run.stderr).not.toMatch(/could not reach/);
    expect(run.stderr.match(/\/login in claude/g)).toHaveLength(1);
    expect(fs.existsSync(path.join(sandbox.hub, "quit"))).toBe(false);
  });
});

describe("long-lived mode end to end, with the real Claude CLI", () => {
  it("setup --long-lived with a scripted setup-token, then run: authenticated; no token in docker inspect or any output", async () => {
    const token = fake.issueLongLivedToken();
    trackSecret(token);
    const scripts = scriptsDir(sandbox);
    // The stand-in prints what `claude setup-token` prints; the token is in the script file
    // only (mounted read-only), never in an argument or the environment.
    writeScript(scripts, "setup-token.sh", `printf '\\n✓ Long-lived authentication token created successfully!\\n\\nYour OAuth token (valid for 1 year):\\n\\n%s\\n\\nStore this token securely. You won'"'"'t be able to see it again.\\n' '${token}'\n`);
    const setup = await plugin(sandbox, ["setup", "--profile", "longlived", "--long-lived", "--no-tty", "--network", "none", "-v", `${scripts}:/scripts:ro`, "--", "/scripts/setup-token.sh"]);
    expect(setup.exitCode, setup.output).toBe(0);
    expect(setup.stdout).toMatch(/^Mode: +long-lived token/m);

    const name = `claudeauth-longlived-${process.pid}`;
    const messages = fake.stats.messagesOk;
    const child = spawnAs(sandbox, [
      path.join(__dirname, "../../dist/docker-claudeauth"), "run", "--profile", "longlived", "--no-workspace", "--name", name, ...endpoint,
      "--", "sh", "-c", "sleep 2; claude -p hello --no-session-persistence --output-format json",
    ]);
    let inspect = "";
    for (let i = 0; i < 100 && !inspect; i++) {
      const result = await docker(["inspect", name]);
      if (result.exitCode === 0) inspect = result.stdout;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const result = await child;
    const output = `${String(result.stdout)}\n${String(result.stderr)}`;
    expect(result.exitCode, output).toBe(0);
    expect(JSON.parse(String(result.stdout).trim().split("\n").pop()!)).toMatchObject({ is_error: false });
    expect(fake.stats.messagesOk).toBeGreaterThan(messages);
    expect(inspect).not.toBe("");
    expect(inspect).not.toContain(token);
    expect(output).not.toContain(token);
    expect(setup.output).not.toContain(token);
  });
});
