// Attack 10 of issue 8, sizes: every path that reads or copies an auth file uses one bound
// (MAX_AUTH_FILE_BYTES, 16 MiB). A .claude.json of 13.5 MB (a long project list) used to be
// captured by setup and then silently dropped by the next refresh (an 8 MiB copy bound).
// The COMPILED entrypoint as a process, the fake Anthropic endpoint for the refresh.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { serializeJson } from "../../core/credentials";
import { MAX_AUTH_FILE_BYTES } from "../../core/layout";
import { runEntrypoint } from "../support/entrypoint";
import { currentCapture, makeHome, tempRoot, writeScript } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { canRunEntrypointTests, STORE_OWNER, TEST_USER } from "../support/test-user";

const OWNER = `${STORE_OWNER.uid}:${STORE_OWNER.gid}`;

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(() => fake?.close());

const endpointEnv = () => ({ HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath });

/** A valid .claude.json of about `bytes` bytes: onboarding done, and a long project list. */
function bigClaudeJson(bytes: number): string {
  const projects: Record<string, unknown> = {};
  const note = "x".repeat(200);
  for (let i = 0, size = 0; size < bytes; i++) {
    const project = { allowedTools: [], history: [note, note, note, note] };
    projects[`/work/project-${i}`] = project;
    size += JSON.stringify(project).length + 40;
  }
  return serializeJson({ hasCompletedOnboarding: true, oauthAccount: { emailAddress: "big@example.com" }, projects });
}

const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

describe.runIf(canRunEntrypointTests())("one size bound for auth files (issue 8, attack 10)", () => {
  it("a 13.5 MB .claude.json is captured by setup, survives a refresh and a second setup, byte for byte", async () => {
    const root = tempRoot();
    const store = path.join(root, "store");
    const big = bigClaudeJson(13.5e6);
    expect(big.length).toBeGreaterThan(13.5e6);
    expect(big.length).toBeLessThan(MAX_AUTH_FILE_BYTES);
    const oauth = fake.login();
    const home = makeHome(root, { ".claude/.credentials.json": serializeJson({ claudeAiOauth: oauth }), ".claude.json": big });
    const setup = (home: string) =>
      runEntrypoint(["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", writeScript(path.join(root, "bin"), "login", "exit 0\n")], { home, env: endpointEnv(), timeoutMs: 60_000 });

    const captured = await setup(home);
    expectNoTokens(captured);
    expect(captured.status, captured.stderr).toBe(0);
    const first = currentCapture(store)!;
    const digest = sha(path.join(first.dir, ".claude.json"));
    expect(digest).toBe(crypto.createHash("sha256").update(big).digest("hex"));

    const refreshed = await runEntrypoint(["refresh", "--store", store, "--owner", OWNER, "--refresh-margin", "9h"], { env: endpointEnv(), timeoutMs: 60_000 });
    expectNoTokens(refreshed);
    expect(refreshed.status, refreshed.stderr).toBe(0);
    const second = currentCapture(store)!;
    expect(second.generation).toBe(first.generation + 1);
    expect(second.meta.source).toBe("refresh");
    expect(sha(path.join(second.dir, ".claude.json"))).toBe(digest);
    expect(refreshed.stderr).not.toMatch(/skipped|larger than/);

    // A second setup is seeded with it (the CLI finds its project list) and keeps it.
    const home2 = makeHome(root, {}, "home2");
    const again = await setup(home2);
    expectNoTokens(again);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/skipped|larger than/);
    expect(sha(path.join(home2, ".claude.json"))).toBe(digest);
    expect(sha(path.join(currentCapture(store)!.dir, ".claude.json"))).toBe(digest);
  });
});
