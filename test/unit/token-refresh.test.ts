// Single-flight refresh and write-back, with the compiled entrypoint against the fake
// Anthropic endpoint on loopback (no Docker): refresh tokens are spent once, by the
// entrypoint, and the store never goes backwards.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { Store } from "../../core/store";
import { containsTokenShape } from "../../core/redact";
import { serializeJson } from "../../core/credentials";

const ENTRYPOINT = path.resolve(__dirname, "../../dist/claudeauth-entrypoint");
const RUNTIME_USER = String(os.userInfo().uid === 0 ? 65534 : os.userInfo().uid); // nobody, when root

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic({ accessTokenTtlSeconds: 8 * 3600 });
});
afterAll(() => fake.close());

async function storeWithLogin(accessTokenTtlSeconds: number): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-refresh-"));
  const credentials = { claudeAiOauth: fake.login({ accessTokenTtlSeconds }) };
  await new Store(dir).commit((draft) => {
    fs.writeFileSync(path.join(draft, ".credentials.json"), serializeJson(credentials), { mode: 0o600 });
  }, { source: "test", mode: "oauth" });
  return dir;
}

function runEntrypoint(store: string, command: string[], extraEnv: Record<string, string> = {}) {
  return execa(ENTRYPOINT, ["run", "--store", store, "--user", RUNTIME_USER, "--work-dir", os.tmpdir(), "--", ...command], {
    reject: false,
    env: { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath, ...extraEnv },
  });
}

const storeTokens = (store: string) => new Store(store).readCurrent()!.credentials!.claudeAiOauth;

describe("single-flight refresh", () => {
  it("refreshes a token inside the margin before the workload starts, and hands the workload no refresh token", async () => {
    const store = await storeWithLogin(120);
    const before = fake.stats.refreshOk;
    const result = await runEntrypoint(store, ["sh", "-c", 'cat "$CLAUDE_CONFIG_DIR/.credentials.json"']);
    expect(result.exitCode).toBe(0);
    const handed = JSON.parse(result.stdout).claudeAiOauth;
    expect(handed.refreshToken).toBe("");
    expect(handed.accessToken).toBe(fake.latestAccessToken());
    expect(fake.stats.refreshOk - before).toBe(1);
    expect(storeTokens(store).refreshToken).toBe(fake.latestRefreshToken());
  });

  it("eight concurrent runs spend the refresh token exactly once", async () => {
    const store = await storeWithLogin(60);
    const before = { ok: fake.stats.refreshOk, bad: fake.stats.invalidGrant };
    const results = await Promise.all(Array.from({ length: 8 }, () => runEntrypoint(store, ["true"])));
    expect(results.map((r) => r.exitCode)).toEqual(Array(8).fill(0));
    expect(fake.stats.refreshOk - before.ok).toBe(1);
    expect(fake.stats.invalidGrant - before.bad).toBe(0);
    expect(storeTokens(store).refreshToken).toBe(fake.latestRefreshToken());
    for (const r of results) expect(containsTokenShape(r.stdout + r.stderr)).toBe(false);
  });

  it("leaves a token outside the margin alone", async () => {
    const store = await storeWithLogin(3600);
    const before = fake.stats.refreshOk;
    expect((await runEntrypoint(store, ["true"])).exitCode).toBe(0);
    expect(fake.stats.refreshOk).toBe(before);
  });

  it("a rejected refresh token is a one-line error that says how to log in again, and the store is kept", async () => {
    const store = await storeWithLogin(60);
    const tokensBefore = storeTokens(store);
    fake.revokeFamily(tokensBefore.refreshToken!);
    const result = await runEntrypoint(store, ["true"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/rejected the store's refresh token.*docker claudeauth setup/);
    expect(storeTokens(store)).toEqual(tokensBefore);
    expect(containsTokenShape(result.stderr)).toBe(false);
  });

  it("refresh mode refreshes on demand for cron jobs", async () => {
    const store = await storeWithLogin(600);
    const result = await execa(ENTRYPOINT, ["refresh", "--store", store, "--refresh-margin", "1h"], {
      reject: false,
      env: { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/access token valid, expires in 7h/);
    expect(storeTokens(store).refreshToken).toBe(fake.latestRefreshToken());
  });
});

describe("while the workload runs", () => {
  it("the supervisor writes a fresh access token into the working copy before the old one dies", async () => {
    // A token living 3 s: the supervisor refreshes it at half-life, while the workload watches its file.
    const script = 'a=$(cat "$CLAUDE_CONFIG_DIR/.credentials.json"); for i in $(seq 1 100); do sleep 0.1; b=$(cat "$CLAUDE_CONFIG_DIR/.credentials.json"); [ "$a" != "$b" ] && { echo changed; exit 0; }; done; echo unchanged';
    const shortLived = await storeWithLogin(3);
    const result = await runEntrypoint(shortLived, ["sh", "-c", script], { CLAUDEAUTH_REFRESH_MARGIN: "1s" });
    expect(result.stdout.trim()).toBe("changed");
    expect(storeTokens(shortLived).refreshToken).toBe(fake.latestRefreshToken());
  });
});

describe("write-back (--allow-login)", () => {
  it("a fresh login of the store's account inside the run goes back to the store (its refresh token spent once, by the entrypoint); killing the run at random points never loses or rewinds it", async () => {
    for (let trial = 0; trial < 40; trial++) {
      const store = await storeWithLogin(8 * 3600);
      const before = new Store(store).readCurrent()!;
      const fresh = { claudeAiOauth: fake.login() };
      const script = `printf '%s' '${JSON.stringify(fresh)}' > "$CLAUDE_CONFIG_DIR/.credentials.json.tmp" && mv "$CLAUDE_CONFIG_DIR/.credentials.json.tmp" "$CLAUDE_CONFIG_DIR/.credentials.json"`;
      const run = runEntrypoint(store, ["sh", "-c", script], { CLAUDEAUTH_ALLOW_LOGIN: "1" });
      const signal = trial % 2 === 0 ? "SIGTERM" : "SIGKILL";
      setTimeout(() => run.kill(signal), 30 + Math.random() * 150);
      const result = await run;
      expect(containsTokenShape(result.stdout + result.stderr)).toBe(false);
      const after = new Store(store).readCurrent()!;
      expect(after.generation).toBeGreaterThanOrEqual(before.generation);
      const adopted = fake.latestRefreshToken(fresh.claudeAiOauth.refreshToken);
      expect([before.credentials!.claudeAiOauth.refreshToken, adopted]).toContain(after.credentials!.claudeAiOauth.refreshToken);
      if (result.exitCode === 0) expect(after.credentials!.claudeAiOauth.refreshToken).toBe(adopted);
    }
  });
});
