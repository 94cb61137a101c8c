import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { encodeSwarmSecret } from "../../core/swarm-secret";
import { runEntrypoint } from "../support/entrypoint";
import { claudeJsonText, credentialsText, seedStore, tempRoot } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { canRunEntrypointTests } from "../support/test-user";

// The COMPILED entrypoint with a Docker Swarm secret as its store (CLAUDEAUTH_STORE / --store
// naming a file, as /run/secrets/claudeauth is in a service): read-only, validated like a
// capture, never written. The services themselves are in test/e2e/swarm.test.ts.
const HOUR = 3_600_000;

function secretFile(files: Record<string, string>, generation = 7): string {
  const file = path.join(tempRoot(), "claudeauth");
  fs.writeFileSync(file, encodeSwarmSecret({ schema: 1, kind: "claudeauth-swarm-secret", profile: "default", generation, files }), { mode: 0o400 });
  return file;
}

describe.runIf(canRunEntrypointTests())("a Swarm secret as the store", () => {
  it("health reads it: valid credentials of the secret's capture, no refresh token in it", async () => {
    const file = secretFile({ ".credentials.json": credentialsText("swarm", { expiresInMs: 8 * HOUR, refreshToken: null }), ".claude.json": claudeJsonText() });
    const result = await runEntrypoint(["health", "--store", file]);
    expectNoTokens(result);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^healthy: credentials valid, access token expires in 7h 59m \(no refresh token\)\n$/);
    // Nothing of the unpacked capture is left behind in the work dir.
    expect(fs.readdirSync("/dev/shm").filter((name) => name.startsWith("claudeauth-secret-"))).toEqual([]);
  });

  it.each([
    ["not JSON", "garbage", /is not usable: it is not JSON; make one with docker claudeauth swarm secret/],
    ["a file not on the list", JSON.stringify({ schema: 1, kind: "claudeauth-swarm-secret", profile: "p", generation: 1, files: { "../x": "" } }), /unexpected file "\.\.\/x"/],
    ["no credentials", JSON.stringify({ schema: 1, kind: "claudeauth-swarm-secret", profile: "p", generation: 1, files: {} }), /capture 1 of profile p\) is not usable: the capture holds no credentials/],
  ])("a secret that is %s is refused in one line", async (_what, text, message) => {
    const file = path.join(tempRoot(), "claudeauth");
    fs.writeFileSync(file, text, { mode: 0o400 });
    const result = await runEntrypoint(["health", "--store", file]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^unhealthy: /);
    expect(result.stdout).toMatch(message);
  });

  it.each(["refresh", "setup", "import", "logout", "inspect"])("%s refuses a secret (read-only) with the fix, and leaves it as it was", async (mode) => {
    const file = secretFile({ ".credentials.json": credentialsText("ro", { expiresInMs: 8 * HOUR }) });
    const before = fs.readFileSync(file);
    const result = await runEntrypoint([mode, "--store", file]);
    expectNoTokens(result);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^claudeauth: error: cannot ${mode} with the Swarm secret .* a secret is read-only; ${mode} the store on a manager and rotate the secret \\(docker claudeauth swarm secret --rotate SERVICE\\)\\n$`));
    expect(fs.readFileSync(file)).toEqual(before);
  });

  it("swarm-secret mode prints the store's current capture for docker secret create, without the refresh token unless asked", async () => {
    const store = path.join(tempRoot(), "store");
    const credentials = credentialsText("mode", { expiresInMs: 8 * HOUR });
    const claudeJson = claudeJsonText();
    const capture = await seedStore(store, { ".credentials.json": credentials, ".claude.json": claudeJson, "settings.json": "{}\n" });
    const stored = JSON.parse(credentials).claudeAiOauth;
    const printed = async (flags: string[]) => {
      const result = await runEntrypoint(["swarm-secret", "--store", store, ...flags], { allowTokens: "the capture's files, for docker secret create's stdin" });
      expect(result.status, result.stderr).toBe(0);
      expectNoTokens(result.stderr);
      expect(result.stdout.split("\n")).toHaveLength(2);
      return JSON.parse(result.stdout) as { generation: number; files: Record<string, string> };
    };

    const plain = await printed([]);
    expect(plain.generation).toBe(capture.generation);
    expect(Object.keys(plain.files).sort()).toEqual([".claude.json", ".credentials.json", "claudeauth.json"]);
    expect(plain.files[".claude.json"]).toBe(claudeJson);
    const oauth = JSON.parse(plain.files[".credentials.json"]!).claudeAiOauth;
    expect(oauth.accessToken).toBe(stored.accessToken);
    expect(oauth.refreshToken).toBe("");

    const full = await printed(["--include-refresh-token"]);
    expect(full.files[".credentials.json"]).toBe(credentials);
  });

  it("swarm-secret mode refuses a store that holds no login, in one line", async () => {
    const result = await runEntrypoint(["swarm-secret", "--store", path.join(tempRoot(), "empty")]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^claudeauth: error: not logged in: the store at .* holds no login; run "docker claudeauth setup" first\n$/);
  });
});
