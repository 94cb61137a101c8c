import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeJson } from "../../core/credentials";
import { DirStore } from "../../core/store-dir";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { runEntrypoint, type Result } from "../support/entrypoint";
import { claudeJsonText, credentialsText, loginScript, makeHome, seedStore, tempRoot, writeScript } from "../support/fixtures";
import { canRunEntrypointTests, STORE_OWNER, TEST_GID, TEST_UID, TEST_USER } from "../support/test-user";
import { expectNoTokens } from "../support/tokens";
import { offlinePlugin, STACK_TRACE } from "./support";

// Attack 9, a capture that no longer reads (a disk error, a hand edit, a crash of another
// tool). The store must not become a dead end: runs fall back to the newest capture whose
// credentials read, with a one-line warning; no command says "internal error"; status,
// health and doctor call the store unhealthy, name the broken capture and the fix; a
// store where nothing reads can still be logged into again. A fallback whose refresh token
// was spent (to make the capture that broke) ends in an honest "log in again", sent once.

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(() => fake?.close());

const OWNER = `${STORE_OWNER.uid}:${STORE_OWNER.gid}`;
const generationDir = (store: string, generation: number) => path.join(store, "captures", String(generation).padStart(8, "0"));

function truncate(file: string): void {
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").slice(0, 40));
}

/** A store with two captures (two logins); the test breaks the newest. */
async function twoCaptures() {
  const root = tempRoot("claudeauth-sec-corrupt-");
  const store = path.join(root, "store");
  const older = credentialsText("older");
  await seedStore(store, { ".credentials.json": older, ".claude.json": claudeJsonText("older@example.com") });
  await seedStore(store, { ".credentials.json": credentialsText("newer"), ".claude.json": claudeJsonText("newer@example.com") });
  const out = path.join(root, "out");
  fs.mkdirSync(out, { mode: 0o700 });
  fs.chownSync(out, TEST_UID, TEST_GID);
  const work = path.join(root, "work");
  fs.mkdirSync(work, { mode: 0o755 });
  return { root, store, older, out, work };
}

async function run(w: { store: string; out: string; work: string }): Promise<Result> {
  const args = ["run", "--store", w.store, "--user", TEST_USER, "--owner", OWNER, "--work-dir", w.work, "--", "sh", "-c", 'cp "$CLAUDE_CONFIG_DIR/.credentials.json" "$T_OUT/handed.json"'];
  const result = await runEntrypoint(args, { env: { T_OUT: w.out } });
  expectNoTokens(result);
  expect(result.stderr).not.toMatch(STACK_TRACE);
  return result;
}

describe.runIf(canRunEntrypointTests())("attack 9: a corrupt current capture", () => {
  it("run falls back to the newest capture that reads, with one warning; health, status and doctor name the broken capture and the fix", async () => {
    const w = await twoCaptures();
    truncate(path.join(generationDir(w.store, 2), ".credentials.json"));

    const result = await run(w);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/warn.*capture 2 is unusable \(\.credentials\.json is not valid JSON.*using the earlier capture 1/);
    const handed = JSON.parse(fs.readFileSync(path.join(w.out, "handed.json"), "utf8")).claudeAiOauth;
    expect(handed.accessToken).toBe(JSON.parse(w.older).claudeAiOauth.accessToken);
    expect(handed.refreshToken).toBe("");

    const health = await runEntrypoint(["health", "--store", w.store]);
    expect(health.status).toBe(1);
    expect(health.stdout).toMatch(/^unhealthy: the store's capture 2 is invalid \(.*\); runs fall back to capture 1: run docker claudeauth setup\n$/);

    const status = await offlinePlugin(["status", "--store", w.store]);
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toMatch(/Status: +invalid/);
    expect(status.stdout).toMatch(/problem: the current capture \(2\) is unusable: \.credentials\.json is not valid JSON.*runs fall back to capture 1, whose refresh token may already have been spent/);
    expect(status.stdout).toMatch(/fix: docker claudeauth setup --store /);

    const doctor = await offlinePlugin(["doctor", "--store", w.store]);
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout).toMatch(/\[fail\] store .*the current capture \(2\) is unusable.*\n +fix: docker claudeauth setup --store /);
  });

  it("a broken claudeauth.json (capture metadata) is not healthy in status or doctor, never an internal error in run; a refresh rewrites it", async () => {
    const root = tempRoot("claudeauth-sec-meta-");
    const store = path.join(root, "store");
    const login = fake.login({ accessTokenTtlSeconds: 600 });
    await seedStore(store, { ".credentials.json": serializeJson({ claudeAiOauth: login }) });
    fs.writeFileSync(path.join(generationDir(store, 1), "claudeauth.json"), '{"schema": 1, "capt');
    const w = { store, out: path.join(root, "out"), work: path.join(root, "work") };
    fs.mkdirSync(w.out, { mode: 0o700 });
    fs.chownSync(w.out, TEST_UID, TEST_GID);
    fs.mkdirSync(w.work, { mode: 0o755 });

    const result = await run(w);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warn.*claudeauth\.json of capture 1 is ignored/);

    const status = await offlinePlugin(["status", "--store", store]);
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toMatch(/Status: +damaged/);
    expect(status.stdout).toMatch(/problem: the current capture \(1\) is damaged: claudeauth\.json is not valid capture metadata/);
    expect(status.stdout).toMatch(/fix: docker claudeauth refresh --store /);
    const doctor = await offlinePlugin(["doctor", "--store", store]);
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout).toMatch(/\[fail\] store .*claudeauth\.json is not valid capture metadata/);

    // The fix it names: a refresh makes a new capture with good metadata.
    const refreshed = await runEntrypoint(["refresh", "--store", store, "--refresh-margin", "1h"], { env: { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath } });
    expectNoTokens(refreshed);
    expect(refreshed.status, refreshed.stderr).toBe(0);
    const healthy = await offlinePlugin(["status", "--store", store]);
    expect(healthy.exitCode, healthy.stdout).toBe(0);
  });

  it("nothing reads at all: run says so in one line with the fix, and setup logs in again from scratch", async () => {
    const w = await twoCaptures();
    for (const generation of [1, 2]) truncate(path.join(generationDir(w.store, generation), ".credentials.json"));
    const result = await run(w);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/holds no usable capture: capture 2 is unusable .*log in again with "docker claudeauth setup"/);

    const home = makeHome(w.root);
    const login = writeScript(path.join(w.root, "bin"), "login", loginScript({ credentials: credentialsText("fresh"), claudeJson: claudeJsonText("fresh@example.com") }));
    const setup = await runEntrypoint(["setup", "--store", w.store, "--user", TEST_USER, "--owner", OWNER, "--", login], { home });
    expectNoTokens(setup);
    expect(setup.stderr).not.toMatch(STACK_TRACE);
    expect(setup.status, setup.stderr).toBe(0);
    expect(new DirStore(w.store).readCurrentSync()!.generation).toBe(3);
    expect((await run(w)).status).toBe(0);
  });

  it("a fallback whose refresh token was spent to make the broken capture: one honest 'log in again', and the spent token is sent only once", async () => {
    const root = tempRoot("claudeauth-sec-spent-");
    const store = path.join(root, "store");
    const login = fake.login({ accessTokenTtlSeconds: 60 });
    await seedStore(store, { ".credentials.json": serializeJson({ claudeAiOauth: login }) });
    const env = { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath };
    const args = ["refresh", "--store", store, "--refresh-margin", "1h"];
    expect((await runEntrypoint(args, { env })).status).toBe(0); // capture 2: login's refresh token is spent
    truncate(path.join(generationDir(store, 2), ".credentials.json"));

    const before = { bad: fake.stats.invalidGrant, requests: fake.stats.byPath["/v1/oauth/token"] ?? 0 };
    for (let i = 0; i < 3; i++) {
      const result = await runEntrypoint(args, { env });
      expectNoTokens(result);
      expect(result.status).toBe(1);
      expect(result.stderr).not.toMatch(STACK_TRACE);
      expect(result.stderr).toMatch(/rejected the store's refresh token.*log in again with "docker claudeauth setup"/);
    }
    expect((fake.stats.byPath["/v1/oauth/token"] ?? 0) - before.requests).toBe(1);
    expect(fake.stats.invalidGrant - before.bad).toBe(1);
  });
});
