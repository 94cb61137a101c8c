import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { serializeJson } from "../../core/credentials";
import { DirStore } from "../../core/store-dir";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { binary, startEntrypoint, waitFor } from "../support/entrypoint";
import { seedStore, tempRoot } from "../support/fixtures";
import { startRelay } from "../support/relay";
import { canRunEntrypointTests, STORE_OWNER } from "../support/test-user";
import { expectNoTokens } from "../support/tokens";
import { bundleWorker } from "../support/worker";

// Attack 7, the store lock. A root entrypoint holds the lock while its token request is in
// flight; a host process (another run, a cron refresh, a non-root `setup --token-stdin`)
// waits for it. A holder frozen past the stale time must not release or refresh the next
// holder's lock, must not commit, and must say so in one line; a host user must be able to
// see that a live root holder is alive. Compiled binaries, fake endpoint behind a relay
// that keeps the request in flight for as long as the test needs.

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(() => fake?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const STACK_TRACE = /^\s+at |internal error/m;

async function storeNeedingRefresh(): Promise<string> {
  const store = path.join(tempRoot("claudeauth-sec-lock-"), "store");
  await seedStore(store, { ".credentials.json": serializeJson({ claudeAiOauth: fake.login({ accessTokenTtlSeconds: 60 }) }) });
  return store;
}

function endpointEnv(proxy: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HTTPS_PROXY: proxy, NODE_EXTRA_CA_CERTS: fake.caPath, ...extra };
}

/** The lock worker (the same core lock) taking the lock, breaking a holder that stood still for staleMs. */
function startHolder(lockDir: string, staleMs: number) {
  const child = spawn(process.execPath, [bundleWorker("lock-worker"), "hold", lockDir, String(staleMs)], { stdio: ["ignore", "pipe", "inherit"] });
  const held = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => String(chunk).includes("held") && resolve());
    child.on("exit", () => reject(new Error("holder exited")));
  });
  onTestFinished(() => void child.kill("SIGKILL"));
  return { child, held };
}

const ownerFile = (lockDir: string) => {
  const name = fs.readdirSync(lockDir).find((n) => n.startsWith("owner."));
  return name ? path.join(lockDir, name) : null;
};

describe.runIf(canRunEntrypointTests())("attack 7: the store lock", () => {
  it("a holder frozen past the stale time neither releases nor refreshes the next holder's lock; its commit aborts in one line and its rotated pair is rescued", async () => {
    const store = await storeNeedingRefresh();
    const lockDir = path.join(store, ".lock");
    const before = new DirStore(store).readCurrentSync()!;
    const stats = { ok: fake.stats.refreshOk, bad: fake.stats.invalidGrant, revoked: fake.stats.familiesRevoked };
    const relay = await startRelay(fake.proxyUrl);
    onTestFinished(() => relay.close());

    // A: a cron refresh whose token request hangs in the network; then it is frozen (SIGSTOP).
    const frozen = startEntrypoint(["refresh", "--store", store, "--refresh-margin", "1h"], { env: endpointEnv(relay.url, { CLAUDEAUTH_LOCK_STALE: "2s" }) });
    onTestFinished(() => void frozen.kill("SIGKILL"));
    await waitFor(() => relay.connections() >= 1, 10_000, "the token request");
    frozen.kill("SIGSTOP");

    // B takes the lock once A has shown no sign of life for the stale time.
    const next = startHolder(lockDir, 2_000);
    await next.held;
    const mark = ownerFile(lockDir)!;
    const beforeMark = fs.statSync(mark, { bigint: true });

    // A wakes up (its heartbeat timer fires), then its token request is answered.
    frozen.kill("SIGCONT");
    await sleep(1_500);
    relay.open();
    const result = await frozen.result;
    expectNoTokens(result);
    expect(result.status).toBe(1);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/lost the store lock .*kept in .*rescue\.json/);

    // B's lock is untouched: same owner file, same times; A committed nothing.
    expect(ownerFile(lockDir)).toBe(mark);
    expect(fs.statSync(mark, { bigint: true }).mtimeNs).toBe(beforeMark.mtimeNs);
    expect(new DirStore(store).readCurrentSync()!.generation).toBe(before.generation);
    expect(fs.existsSync(path.join(store, "rescue.json"))).toBe(true);

    // B goes away; the next refresh adopts the rescued pair without sending any token.
    next.child.kill("SIGKILL");
    const again = await execa(binary("claudeauth-entrypoint"), ["refresh", "--store", store, "--refresh-margin", "1h"], { reject: false, env: endpointEnv(fake.proxyUrl) });
    expectNoTokens({ stdout: again.stdout, stderr: again.stderr });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/adopted the refreshed token/);
    expect(new DirStore(store).readCurrentSync()!.credentials!.claudeAiOauth.refreshToken).toBe(fake.latestRefreshToken(before.credentials!.claudeAiOauth.refreshToken));
    expect(fake.stats.refreshOk - stats.ok).toBe(1);
    expect(fake.stats.invalidGrant - stats.bad).toBe(0);
    expect(fake.stats.familiesRevoked - stats.revoked).toBe(0);
    expect(fs.existsSync(path.join(store, "rescue.json"))).toBe(false);
  });

  it("a non-root host user (setup --token-stdin) waits for a root run's live lock instead of breaking it, and both commits land in order", async () => {
    const store = await storeNeedingRefresh();
    const before = new DirStore(store).readCurrentSync()!;
    const okBefore = fake.stats.refreshOk;
    const relay = await startRelay(fake.proxyUrl);
    onTestFinished(() => relay.close());

    const run = startEntrypoint(["refresh", "--store", store, "--refresh-margin", "1h"], { env: endpointEnv(relay.url) });
    onTestFinished(() => void run.kill("SIGKILL"));
    await waitFor(() => relay.connections() >= 1, 10_000, "the token request");

    // The store owner, not root, on the host: the plugin stores a long-lived token.
    const home = tempRoot("claudeauth-sec-home-");
    fs.chownSync(home, STORE_OWNER.uid, STORE_OWNER.gid);
    const user = execa(
      "setpriv",
      ["--reuid", String(STORE_OWNER.uid), "--regid", String(STORE_OWNER.gid), "--clear-groups", "--", binary("docker-claudeauth"), "setup", "--token-stdin", "--store", store],
      { reject: false, input: "sk-ant-oat01-longlivedsecuritytest-0123456789abcdef\n", env: { HOME: home, PATH: process.env.PATH, DOCKER_HOST: "unix:///nonexistent.sock" }, extendEnv: false },
    );
    let userDone = false;
    void user.then(() => (userDone = true));
    await sleep(5_000); // more than the 2 s after which a non-root reader used to break a root lock
    expect(userDone).toBe(false);
    expect(new DirStore(store).currentGeneration()).toBe(before.generation);

    relay.open();
    const runResult = await run.result;
    const userResult = await user;
    expectNoTokens(runResult);
    expect(runResult.status, runResult.stderr).toBe(0);
    expect(runResult.stderr).not.toMatch(STACK_TRACE);
    expect(userResult.exitCode, userResult.stderr).toBe(0);
    expect(userResult.stderr).not.toMatch(STACK_TRACE);
    const sources = [before.generation + 1, before.generation + 2].map((g) => {
      const meta = JSON.parse(fs.readFileSync(path.join(store, "captures", String(g).padStart(8, "0"), "claudeauth.json"), "utf8"));
      return meta.source;
    });
    expect(sources).toEqual(["refresh", "token-stdin"]);
    expect(fake.stats.refreshOk - okBefore).toBe(1);
    expect(fs.existsSync(path.join(store, ".lock"))).toBe(false);
  });
});
