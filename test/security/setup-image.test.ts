// Attack 5 of issue 8 end to end: `docker claudeauth setup` in the real setup image, with a
// cron-style `docker claudeauth refresh` (a run container, the fake Anthropic endpoint on
// loopback) rotating the store's token while the scripted login is idle. The store must stay
// on the newest refresh token and the plugin must not claim the earlier login was kept.
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { serializeJson } from "../../core/credentials";
import { DirStore } from "../../core/store-dir";
import { claudeJsonText, seedStore } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { HOST_USER, asHostUser, pluginEnv, startSession, useScratchStores, writeLoginScript, type Run } from "../support/images";

const CA_IN_CONTAINER = "/etc/claudeauth-test-ca.pem";
const scratch = useScratchStores("sec-setup");
let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(() => fake?.close());

async function pluginRefresh(store: string): Promise<Run> {
  const endpoint = ["--network", "host", "-e", `HTTPS_PROXY=${fake.proxyUrl}`, "-e", `NODE_EXTRA_CA_CERTS=${CA_IN_CONTAINER}`, "-v", `${fake.caPath}:${CA_IN_CONTAINER}:ro`];
  const argv = asHostUser(["docker", "claudeauth", "refresh", "--store", store, "--if-expiring-within", "9h", ...endpoint]);
  const result = await execa(argv[0]!, argv.slice(1), { reject: false, stdin: "ignore", env: pluginEnv() });
  const run = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), ms: 0 };
  expectNoTokens(run);
  expect(run.exitCode, run.stderr).toBe(0);
  return run;
}

describe("setup in the real image while cron refreshes the store", { timeout: 240_000 }, () => {
  it("the store stays on the refreshed token, no token is spent twice, and the plugin says who made the newest capture", async () => {
    const store = scratch.newStore("rollback");
    const seeded = fake.login();
    await seedStore(store, { ".credentials.json": serializeJson({ claudeAiOauth: seeded }), ".claude.json": claudeJsonText() }, HOST_USER);
    const stopDir = path.join(scratch.dir(), "stop");
    fs.mkdirSync(stopDir, { mode: 0o755 });
    const login = writeLoginScript(scratch.dir(), "login-idle.sh", { after: "echo LOGIN-READY\nwhile [ ! -e /e2e/stop/now ]; do sleep 0.1; done\nexit 0" });
    const before = { ...fake.stats };

    const session = startSession("setup", { store, mounts: [`${login}:/e2e/login.sh:ro`, `${stopDir}:/e2e/stop:ro`], command: ["/e2e/login.sh"] }, "plugin");
    await session.waitForOutput(/LOGIN-READY/, 120_000);
    await pluginRefresh(store);
    const rotated = new DirStore(store).readCurrentSync()!;
    expect(rotated.credentials!.claudeAiOauth.refreshToken).toBe(fake.latestRefreshToken(seeded.refreshToken));
    fs.writeFileSync(path.join(stopDir, "now"), "");
    const result = await session.done;
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);

    const after = new DirStore(store).readCurrentSync()!;
    expect(after.generation).toBe(rotated.generation);
    expect(after.credentials).toEqual(rotated.credentials);
    expect(result.stderr).toMatch(/no new login in this session \(login command exited\): the store moved on to capture 2 meanwhile and keeps that login/);
    expect(result.stdout).not.toMatch(/keeps its earlier login|Logged in/);
    expect(result.stdout).toMatch(/^Profile default changed during the setup: its newest capture \(#2\) was made by refresh\.$/m);

    await pluginRefresh(store);
    expect(fake.stats.refreshOk - before.refreshOk).toBe(2);
    expect(fake.stats.invalidGrant - before.invalidGrant).toBe(0);
    expect(fake.family(seeded.refreshToken)!.revoked).toBe(false);
  });
});
