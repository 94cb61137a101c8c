// Single-flight refresh and write-back, with the compiled entrypoint against the fake
// Anthropic endpoint on loopback (no Docker): refresh tokens are spent once, by the
// entrypoint, and the store never goes backwards. Every scenario ends with the fake's
// counters and the exact tokens in the store; kills land at points the test controls (the
// fake holding a token request, the test holding the store lock, the commit's temp dir seen).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { acquireLock } from "../../core/lock";
import { commit } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { serializeJson } from "../../core/credentials";
import { runEntrypoint, startEntrypoint, waitFor, type Handle } from "../support/entrypoint";
import { tempRoot } from "../support/fixtures";
import { TOKEN_HASHES, sha256 } from "../support/images";
import { canRunEntrypointTests } from "../support/test-user";

const RUNTIME_USER = String(os.userInfo().uid === 0 ? 65534 : os.userInfo().uid); // nobody, when root
const HOUR = 3600;

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic({ accessTokenTtlSeconds: 8 * HOUR });
});
afterAll(() => fake?.close());

type World = { root: string; store: string; work: string; shared: string };

/** A store holding a fresh login of the fake, a work dir for working copies, a dir the workload may write to. */
async function world(accessTokenTtlSeconds: number): Promise<World> {
  const root = tempRoot("claudeauth-refresh-");
  const store = path.join(root, "store");
  const credentials = { claudeAiOauth: fake.login({ accessTokenTtlSeconds }) };
  await commit(new DirStore(store), (draft) => {
    fs.writeFileSync(path.join(draft, ".credentials.json"), serializeJson(credentials), { mode: 0o600 });
  }, { source: "test", mode: "oauth" });
  const work = path.join(root, "work");
  const shared = path.join(root, "shared");
  for (const dir of [work, shared]) {
    fs.mkdirSync(dir);
    fs.chmodSync(dir, dir === shared ? 0o777 : 0o755);
  }
  return { root, store, work, shared };
}

const ENDPOINT_ENV = () => ({ HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath });

function start(w: World, command: string[], env: Record<string, string> = {}): Handle {
  return startEntrypoint(["run", "--store", w.store, "--user", RUNTIME_USER, "--work-dir", w.work, "--", ...command], { env: { ...ENDPOINT_ENV(), ...env } });
}

function run(w: World, command: string[], env: Record<string, string> = {}) {
  return runEntrypoint(["run", "--store", w.store, "--user", RUNTIME_USER, "--work-dir", w.work, "--", ...command], { env: { ...ENDPOINT_ENV(), ...env } });
}

const storeCapture = (store: string) => new DirStore(store).readCurrentSync()!;
const storeTokens = (store: string) => storeCapture(store).credentials!.claudeAiOauth;

/** The fake's counters from now on. */
function counters() {
  const before = { ...fake.stats };
  return () => ({
    refreshOk: fake.stats.refreshOk - before.refreshOk,
    invalidGrant: fake.stats.invalidGrant - before.invalidGrant,
    refused: fake.stats.tokenRequestsRefused - before.tokenRequestsRefused,
    familiesRevoked: fake.stats.familiesRevoked - before.familiesRevoked,
  });
}

/** Shell printing the sha256 of every token in the working copy's credentials: the test learns what the workload held without the token in any output. */
const HANDED = `${TOKEN_HASHES}; token_hashes < "$CLAUDE_CONFIG_DIR/.credentials.json"; grep -c '"refreshToken": ""' "$CLAUDE_CONFIG_DIR/.credentials.json"`;

describe.runIf(canRunEntrypointTests())("single-flight refresh", () => {
  it("refreshes a token inside the margin before the workload starts, and hands the workload the new access token only", async () => {
    const w = await world(120);
    const seen = counters();
    const result = await run(w, ["sh", "-c", HANDED]);
    expect(result.status).toBe(0);
    expect(seen()).toEqual({ refreshOk: 1, invalidGrant: 0, refused: 0, familiesRevoked: 0 });
    const [hash, blankRefresh] = result.stdout.trim().split("\n");
    expect(hash).toBe(sha256(fake.latestAccessToken()!));
    expect(blankRefresh).toBe("1");
    expect(storeTokens(w.store)).toMatchObject({ accessToken: fake.latestAccessToken(), refreshToken: fake.latestRefreshToken() });
    expect(fs.readdirSync(w.work)).toEqual([]);
  });

  it("eight concurrent runs spend the refresh token exactly once", async () => {
    const w = await world(60);
    const seen = counters();
    const results = await Promise.all(Array.from({ length: 8 }, () => run(w, ["true"])));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(0));
    expect(seen()).toEqual({ refreshOk: 1, invalidGrant: 0, refused: 0, familiesRevoked: 0 });
    expect(storeTokens(w.store)).toMatchObject({ accessToken: fake.latestAccessToken(), refreshToken: fake.latestRefreshToken() });
    expect(fs.readdirSync(w.work)).toEqual([]);
  });

  it("leaves a token outside the margin alone", async () => {
    const w = await world(HOUR);
    const before = storeCapture(w.store);
    const seen = counters();
    expect((await run(w, ["true"])).status).toBe(0);
    expect(seen()).toEqual({ refreshOk: 0, invalidGrant: 0, refused: 0, familiesRevoked: 0 });
    expect(storeCapture(w.store).generation).toBe(before.generation);
    expect(storeTokens(w.store)).toEqual(before.credentials!.claudeAiOauth);
  });

  it("a rejected refresh token is a one-line error that says how to log in again, and the store is kept", async () => {
    const w = await world(60);
    const tokensBefore = storeTokens(w.store);
    fake.revokeFamily(tokensBefore.refreshToken!);
    const seen = counters();
    const result = await run(w, ["true"]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/rejected the store's refresh token.*docker claudeauth setup/);
    expect(seen()).toEqual({ refreshOk: 0, invalidGrant: 1, refused: 0, familiesRevoked: 0 });
    expect(storeTokens(w.store)).toEqual(tokensBefore);
  });

  it("refresh mode refreshes on demand for cron jobs", async () => {
    const w = await world(600);
    const seen = counters();
    const result = await runEntrypoint(["refresh", "--store", w.store, "--refresh-margin", "1h"], { env: ENDPOINT_ENV() });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/access token valid, expires in 7h/);
    expect(seen()).toEqual({ refreshOk: 1, invalidGrant: 0, refused: 0, familiesRevoked: 0 });
    expect(storeTokens(w.store)).toMatchObject({ accessToken: fake.latestAccessToken(), refreshToken: fake.latestRefreshToken() });
  });

  it("a run killed while its refresh request is in flight (held by the fake, never processed) spends nothing; the next run refreshes once", async () => {
    const w = await world(60);
    const before = storeCapture(w.store);
    const seen = counters();
    const gate = fake.holdNextTokenRequest();
    const handle = start(w, ["true"]);
    await gate.arrived; // the entrypoint holds the store lock and waits for the answer
    expect(fs.existsSync(path.join(w.store, ".lock"))).toBe(true);
    handle.kill("SIGKILL");
    expect((await handle.result).signal).toBe("SIGKILL");
    gate.discard();
    expect(seen()).toEqual({ refreshOk: 0, invalidGrant: 0, refused: 0, familiesRevoked: 0 });
    expect(storeCapture(w.store).generation).toBe(before.generation);
    expect(storeTokens(w.store)).toEqual(before.credentials!.claudeAiOauth);
    // The dead holder's lock is taken over at once; the token it never spent is spent now, once.
    const next = await run(w, ["true"]);
    expect(next.status).toBe(0);
    expect(next.ms).toBeLessThan(20_000);
    expect(seen()).toEqual({ refreshOk: 1, invalidGrant: 0, refused: 0, familiesRevoked: 0 });
    expect(storeTokens(w.store)).toMatchObject({ accessToken: fake.latestAccessToken(), refreshToken: fake.latestRefreshToken() });
  }, 60_000);
});

describe.runIf(canRunEntrypointTests())("while the workload runs", () => {
  it("the supervisor writes a fresh access token into the working copy before the old one dies", async () => {
    // A token living 3 s: the supervisor refreshes it at half-life, while the workload watches its file.
    const script = `a=$(cat "$CLAUDE_CONFIG_DIR/.credentials.json"); for i in $(seq 1 100); do sleep 0.1; b=$(cat "$CLAUDE_CONFIG_DIR/.credentials.json"); [ "$a" != "$b" ] && { echo changed; break; }; done; ${HANDED}`;
    const w = await world(3);
    const seen = counters();
    const result = await run(w, ["sh", "-c", script], { CLAUDEAUTH_REFRESH_MARGIN: "1s" });
    expect(result.status).toBe(0);
    const [changed, hash, blankRefresh] = result.stdout.trim().split("\n");
    expect(changed).toBe("changed");
    const refreshes = seen();
    expect(refreshes.refreshOk).toBeGreaterThanOrEqual(1);
    expect(refreshes).toMatchObject({ invalidGrant: 0, refused: 0, familiesRevoked: 0 });
    // What the workload held at the end is one of the family's access tokens issued by a refresh, never its refresh token.
    const family = fake.family()!;
    expect(family.accessTokens.slice(1).map(sha256)).toContain(hash);
    expect(blankRefresh).toBe("1");
    expect(storeTokens(w.store)).toMatchObject({ accessToken: fake.latestAccessToken(), refreshToken: fake.latestRefreshToken() });
  });
});

// ---------------------------------------------------------------------------------------
// Write-back (--allow-login): the workload logs in afresh (login B) inside a run that started
// from A. The entrypoint spends B's refresh token itself (so the store keeps a pair the token
// endpoint issued, never one the workload made up) and commits the rotated pair, B'.

type WriteBack = World & { a: ReturnType<typeof storeCapture>; b: { accessToken: string; refreshToken: string }; marker: string };

/**
 * A world whose workload, when told, writes login B the way the CLI does. The store's own
 * .claude.json is large (every new capture carries it on), so a commit takes a while.
 */
async function writeBackWorld(): Promise<WriteBack & { script(options: { waitBefore?: boolean; sleepAfter?: boolean }): string[] }> {
  const w = await world(8 * HOUR);
  const credentials = fs.readFileSync(path.join(storeCapture(w.store).dir, ".credentials.json"));
  const projects = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`/work/project-${i}`, { allowedTools: [], history: [`entry ${i}`] }]));
  await commit(new DirStore(w.store), (draft) => {
    fs.writeFileSync(path.join(draft, ".credentials.json"), credentials, { mode: 0o600 });
    fs.writeFileSync(path.join(draft, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true, projects }), { mode: 0o600 });
  }, { source: "test", mode: "oauth" });
  const fresh = { claudeAiOauth: fake.login() };
  fs.writeFileSync(path.join(w.shared, "credentials.json"), serializeJson(fresh), { mode: 0o644 });
  const marker = path.join(w.shared, "written");
  const go = path.join(w.shared, "go");
  return {
    ...w,
    a: storeCapture(w.store),
    b: { accessToken: fresh.claudeAiOauth.accessToken, refreshToken: fresh.claudeAiOauth.refreshToken },
    marker,
    script: ({ waitBefore = false, sleepAfter = false }) => [
      "sh",
      "-c",
      [
        waitBefore ? `while [ ! -e '${go}' ]; do sleep 0.02; done` : "",
        `cp '${w.shared}/credentials.json' "$CLAUDE_CONFIG_DIR/.credentials.json.tmp" && mv "$CLAUDE_CONFIG_DIR/.credentials.json.tmp" "$CLAUDE_CONFIG_DIR/.credentials.json"`,
        `touch '${marker}'`,
        sleepAfter ? "sleep 30" : "",
      ].filter(Boolean).join("\n"),
    ],
  };
}

const ALLOW_LOGIN = { CLAUDEAUTH_ALLOW_LOGIN: "1" };

function expectHolds(store: string, tokens: { accessToken: string; refreshToken: string }): void {
  expect(storeTokens(store)).toMatchObject(tokens);
}

/** B', the pair the entrypoint got for the workload's login B. */
const rotatedB = (w: WriteBack) => ({ accessToken: fake.latestAccessToken(w.b.refreshToken)!, refreshToken: fake.latestRefreshToken(w.b.refreshToken)! });

const tempDirs = (store: string) => fs.readdirSync(path.join(store, "captures")).filter((name) => name.startsWith(".tmp-"));

describe.runIf(canRunEntrypointTests())("write-back, killed at known points", () => {
  it("unkilled: the run's new login goes back to the store as B', its refresh token spent once, by the entrypoint", async () => {
    const w = await writeBackWorld();
    const seen = counters();
    const result = await run(w, w.script({}), ALLOW_LOGIN);
    expect(result.status).toBe(0);
    expect(fake.latestRefreshToken(w.b.refreshToken)).not.toBe(w.b.refreshToken); // B was spent
    expectHolds(w.store, rotatedB(w));
    expect(storeCapture(w.store).generation).toBe(w.a.generation + 1);
    expect(seen()).toEqual({ refreshOk: 1, invalidGrant: 0, refused: 0, familiesRevoked: 0 });
    expect(fs.readdirSync(w.work)).toEqual([]);
  });

  it("TERM after the workload wrote the login: it is still written back, and the working copy removed", async () => {
    const w = await writeBackWorld();
    const handle = start(w, w.script({ sleepAfter: true }), ALLOW_LOGIN);
    await waitFor(() => fs.existsSync(w.marker), 20_000, "the workload's login");
    handle.kill("SIGTERM");
    const result = await handle.result;
    expect(result.status).toBe(143);
    expectHolds(w.store, rotatedB(w));
    expect(fs.readdirSync(w.work)).toEqual([]);
  });

  it("TERM before the workload wrote a login: the store keeps A, same generation", async () => {
    const w = await writeBackWorld();
    const handle = start(w, w.script({ waitBefore: true }), ALLOW_LOGIN);
    await waitFor(() => fs.readdirSync(w.work).length > 0, 20_000, "the working copy");
    handle.kill("SIGTERM");
    expect((await handle.result).status).toBe(143);
    expect(storeCapture(w.store).generation).toBe(w.a.generation);
    expect(storeTokens(w.store)).toEqual(w.a.credentials!.claudeAiOauth);
  });

  it("KILL while the write-back waits for the store lock (the test holds it): the store keeps A, and is usable at once", async () => {
    const w = await writeBackWorld();
    const lock = await acquireLock(path.join(w.store, ".lock"));
    try {
      const handle = start(w, w.script({}), ALLOW_LOGIN);
      await waitFor(() => fs.existsSync(w.marker), 20_000, "the workload's login");
      handle.kill("SIGKILL");
      expect((await handle.result).signal).toBe("SIGKILL");
    } finally {
      lock.release();
    }
    expect(storeCapture(w.store).generation).toBe(w.a.generation);
    expect(storeTokens(w.store)).toEqual(w.a.credentials!.claudeAiOauth);
    expect((await run(w, ["true"])).status).toBe(0);
  });

  it("KILL inside the commit (its temp dir seen): the store is exactly A or exactly B', and the next commit clears the leftovers", async () => {
    let midCommit = 0;
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 6 && midCommit < 2; attempt++) {
      const w = await writeBackWorld();
      const lockDir = path.join(w.store, ".lock");
      const lock = await acquireLock(lockDir);
      const profiles = () => fake.stats.byPath["/api/oauth/profile"] ?? 0;
      const before = profiles();
      const handle = start(w, w.script({}), ALLOW_LOGIN);
      await waitFor(() => fs.existsSync(w.marker), 20_000, "the workload's login");
      await new Promise((resolve) => setTimeout(resolve, 100)); // the workload has exited; the write-back spends B, then waits for the lock
      lock.release();
      // Under the lock it asks the profile endpoint (this process's fake: keep the event loop
      // turning) whose account the store holds, then commits: the last answer opens the window.
      while (profiles() < before + 2 && handle.child.exitCode === null) await new Promise((resolve) => setImmediate(resolve));
      // Busy-wait (the commit takes milliseconds): kill the moment its temp dir exists.
      const deadline = Date.now() + 10_000;
      let killed = false;
      while (!killed && Date.now() < deadline && handle.child.exitCode === null) {
        if (tempDirs(w.store).length > 0) killed = handle.kill("SIGKILL");
      }
      const result = await handle.result;
      const left = tempDirs(w.store).length > 0;
      if (killed && result.signal === "SIGKILL" && left) midCommit++;
      const tokens = storeTokens(w.store);
      const b = rotatedB(w);
      const outcome = tokens.refreshToken === b.refreshToken ? "B'" : tokens.refreshToken === w.a.credentials!.claudeAiOauth.refreshToken ? "A" : "neither";
      outcomes.push(`${outcome}${left ? " (temp dir left)" : ""}`);
      expect(outcome).not.toBe("neither");
      const held = outcome === "B'" ? b : { accessToken: w.a.credentials!.claudeAiOauth.accessToken, refreshToken: w.a.credentials!.claudeAiOauth.refreshToken! };
      expectHolds(w.store, held);
      // The store works at once: the next commit (a cron refresh) spends what it holds, once,
      // and removes what the killed one left.
      const seen = counters();
      const next = await runEntrypoint(["refresh", "--store", w.store, "--refresh-margin", "3650d"], { env: ENDPOINT_ENV() });
      expect(next.status).toBe(0);
      expect(seen()).toEqual({ refreshOk: 1, invalidGrant: 0, refused: 0, familiesRevoked: 0 });
      expectHolds(w.store, { accessToken: fake.latestAccessToken(held.refreshToken)!, refreshToken: fake.latestRefreshToken(held.refreshToken)! });
      expect(tempDirs(w.store)).toEqual([]);
      expect(fs.existsSync(lockDir)).toBe(false);
    }
    console.log(`write-back killed inside the commit: ${outcomes.join(", ")}`);
    expect(midCommit, outcomes.join(", ")).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
