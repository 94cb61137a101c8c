import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { encodeSwarmSecret } from "../../core/swarm-secret";
import { runEntrypoint } from "../support/entrypoint";
import { claudeJsonText, credentialsText, tempRoot } from "../support/fixtures";
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

  it.each(["refresh", "setup"])("%s refuses a secret (read-only) with the fix, and leaves it as it was", async (mode) => {
    const file = secretFile({ ".credentials.json": credentialsText("ro", { expiresInMs: 8 * HOUR }) });
    const before = fs.readFileSync(file);
    const result = await runEntrypoint([mode, "--store", file]);
    expectNoTokens(result);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^claudeauth: error: cannot ${mode} with the Swarm secret .* a secret is read-only; ${mode} the store on a manager and rotate the secret \\(docker claudeauth swarm secret --rotate SERVICE\\)\\n$`));
    expect(fs.readFileSync(file)).toEqual(before);
  });
});
