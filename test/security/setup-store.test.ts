// Attack 5 of issue 8, and what setup owes the store: a setup session is seeded from the
// store, while cron `refresh` calls and runs keep rotating the store's refresh token. The
// COMPILED entrypoint, as a process (no Docker), against the fake Anthropic endpoint: a
// scripted login stands in for the CLI, `claudeauth-entrypoint refresh` for the cron job.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type Credentials, type FakeAnthropic } from "../fake-anthropic";
import { serializeJson } from "../../core/credentials";
import { runEntrypoint, startEntrypoint, waitFor, type Result } from "../support/entrypoint";
import { claudeJsonText, currentCapture, loginScript, makeHome, seedStore, tempRoot, waitForFile, writeScript } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { canRunEntrypointTests, STORE_OWNER, TEST_USER } from "../support/test-user";

const OWNER = `${STORE_OWNER.uid}:${STORE_OWNER.gid}`;
const HOUR_S = 3600;

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(() => fake?.close());

const endpointEnv = () => ({ HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath });

function world() {
  const root = tempRoot();
  return { root, home: makeHome(root), store: path.join(root, "store"), bin: path.join(root, "bin") };
}

/** A store holding one login made at the fake endpoint (a fresh token family). */
async function storeWithLogin(store: string, accessTokenTtlSeconds = 8 * HOUR_S): Promise<Credentials> {
  const oauth = fake.login({ accessTokenTtlSeconds });
  await seedStore(store, { ".credentials.json": serializeJson({ claudeAiOauth: oauth }), ".claude.json": claudeJsonText() });
  return oauth;
}

function setup(store: string, home: string, login: string) {
  return startEntrypoint(["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", login], { home, env: endpointEnv() });
}

/** Lets the scripted login exit (it waits for ROOT/stop); setup must end well and print no token. */
async function finish(session: ReturnType<typeof setup>, root: string): Promise<Result> {
  fs.writeFileSync(path.join(root, "stop"), "");
  const result = await session.result;
  expectNoTokens(result);
  expect(result.status, result.stderr).toBe(0);
  return result;
}

/** What cron does: `refresh` with a margin longer than the token's life, so it rotates now. */
async function cronRefresh(store: string): Promise<Result> {
  const result = await runEntrypoint(["refresh", "--store", store, "--owner", OWNER, "--refresh-margin", "9h"], { env: endpointEnv() });
  expectNoTokens(result);
  expect(result.status, result.stderr).toBe(0);
  return result;
}

const storeOauth = (store: string) => currentCapture(store)!.credentials!.claudeAiOauth;

/** Every file under `dir` whose bytes contain `secret`. */
function filesHolding(dir: string, secret: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const file = path.join(d, name);
      const stat = fs.lstatSync(file);
      if (stat.isDirectory()) walk(file);
      else if (stat.isFile() && fs.readFileSync(file).includes(secret)) found.push(file);
    }
  };
  walk(dir);
  return found;
}

describe.runIf(canRunEntrypointTests())("setup never rolls the store back (issue 8, attack 5)", () => {
  it.each([
    ["the login stays idle", ""],
    // The CLI rewrites its credentials file now and then (temp file + rename): same seeded tokens.
    ["the login rewrites its seeded credentials after the refresh", 'cp "$HOME/.claude/.credentials.json" "$HOME/.claude/.c.tmp" && mv -f "$HOME/.claude/.c.tmp" "$HOME/.claude/.credentials.json"'],
  ])("a cron refresh during setup (%s): the store stays on the newest token, nothing is spent twice, setup says it captured nothing", async (_what, afterRefresh) => {
    const { root, home, store, bin } = world();
    const seeded = await storeWithLogin(store);
    const login = writeScript(bin, "login", [
      `touch "$HOME/.ready"`, waitForFile(path.join(root, "refreshed")), afterRefresh, waitForFile(path.join(root, "stop")), "exit 0", "",
    ].join("\n"));
    const before = { ...fake.stats };

    const session = setup(store, home, login);
    await waitFor(() => fs.existsSync(path.join(home, ".ready")), 15_000, "the login to start");
    await cronRefresh(store);
    const rotated = storeOauth(store);
    expect(rotated.refreshToken).toBe(fake.latestRefreshToken(seeded.refreshToken));
    fs.writeFileSync(path.join(root, "refreshed"), "");
    await new Promise((resolve) => setTimeout(resolve, 600)); // a few watch intervals for the rewrite
    const result = await finish(session, root);

    // The store is where the refresh left it: capture 2, the rotated pair.
    expect(currentCapture(store)!.generation).toBe(2);
    expect(storeOauth(store)).toEqual(rotated);
    // Honest: no login was captured, and the store kept the refreshed one.
    expect(result.stderr).not.toMatch(/captured login state/);
    expect(result.stderr).toMatch(/no new login in this session \(login command exited\): the store moved on to capture 2 meanwhile and keeps that login/);

    // The next cron refresh spends the newest token: accepted, no reuse, the family alive.
    await cronRefresh(store);
    expect(storeOauth(store).refreshToken).toBe(fake.latestRefreshToken(seeded.refreshToken));
    expect(fake.stats.refreshOk - before.refreshOk).toBe(2);
    expect(fake.stats.invalidGrant - before.invalidGrant).toBe(0);
    expect(fake.stats.familiesRevoked - before.familiesRevoked).toBe(0);
    expect(fake.family(seeded.refreshToken)!.revoked).toBe(false);
  });

  it("the login is seeded with the access token only: no file the setup CLI can read holds the store's refresh token", async () => {
    const { root, home, store, bin } = world();
    const seeded = await storeWithLogin(store);
    // What the CLI finds at start, kept where the test can read it after the session.
    const login = writeScript(bin, "login", `cp "$HOME/.claude/.credentials.json" "$HOME/seen.json"\n`);
    const result = await runEntrypoint(["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", login], { home, env: endpointEnv() });
    expectNoTokens(result);
    expect(result.status, result.stderr).toBe(0);
    const seen = JSON.parse(fs.readFileSync(path.join(home, "seen.json"), "utf8")).claudeAiOauth;
    expect(seen.accessToken).toBe(seeded.accessToken);
    expect(seen.refreshToken).toBe("");
    expect(filesHolding(home, seeded.refreshToken)).toEqual([]);
    expect(filesHolding(root, seeded.refreshToken).every((file) => file.startsWith(store + "/"))).toBe(true);
    // The session made no login: the store keeps its own, refresh token and all.
    expect(currentCapture(store)!.generation).toBe(1);
    expect(storeOauth(store)).toEqual(seeded);
    expect(result.stderr).toMatch(/no new login in this session \(login command exited\): the store keeps its login \(capture 1\)/);
  });

  it("a store whose access token is due is renewed under the lock before the login is seeded", async () => {
    const { home, store, bin } = world();
    const seeded = await storeWithLogin(store, 60);
    const login = writeScript(bin, "login", `cp "$HOME/.claude/.credentials.json" "$HOME/seen.json"\n`);
    const before = fake.stats.refreshOk;
    const result = await runEntrypoint(["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", login], { home, env: endpointEnv() });
    expectNoTokens(result);
    expect(result.status, result.stderr).toBe(0);
    expect(fake.stats.refreshOk - before).toBe(1);
    const seen = JSON.parse(fs.readFileSync(path.join(home, "seen.json"), "utf8")).claudeAiOauth;
    expect(seen.accessToken).toBe(fake.latestAccessToken(seeded.refreshToken));
    expect(seen.refreshToken).toBe("");
    expect(storeOauth(store).refreshToken).toBe(fake.latestRefreshToken(seeded.refreshToken));
  });

  it("settings changed in a session without a new login are kept, on the store's own credentials", async () => {
    const { home, store, bin } = world();
    const seeded = await storeWithLogin(store);
    const login = writeScript(bin, "login", `printf '{"model":"opus"}\\n' > "$HOME/.claude/settings.json"\n`);
    const result = await runEntrypoint(["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", login], { home, env: endpointEnv() });
    expectNoTokens(result);
    expect(result.status, result.stderr).toBe(0);
    const capture = currentCapture(store)!;
    expect(capture.generation).toBe(2);
    expect(capture.credentials!.claudeAiOauth).toEqual(seeded); // the refresh token too, never ""
    expect(fs.readFileSync(path.join(capture.dir, "settings.json"), "utf8")).toBe('{"model":"opus"}\n');
    expect(result.stderr).toMatch(/no new login in this session \(login command exited\): the store keeps its login, with this session's settings \(capture 2\)/);
  });

  it("a new login made during setup wins over a refresh made meanwhile", async () => {
    const { root, home, store, bin } = world();
    const old = await storeWithLogin(store);
    const fresh = fake.login();
    const login = writeScript(bin, "login", loginScript({
      before: [`touch "$HOME/.ready"`, waitForFile(path.join(root, "refreshed"))].join("\n"),
      credentials: serializeJson({ claudeAiOauth: fresh }),
      after: [waitForFile(path.join(root, "stop")), "exit 0"].join("\n"),
    }));
    const session = setup(store, home, login);
    await waitFor(() => fs.existsSync(path.join(home, ".ready")), 15_000, "the login to start");
    await cronRefresh(store);
    fs.writeFileSync(path.join(root, "refreshed"), "");
    await waitFor(() => storeOauth(store).refreshToken === fresh.refreshToken, 15_000, "the new login in the store");
    const result = await finish(session, root);
    expect(currentCapture(store)!.generation).toBe(3);
    expect(storeOauth(store)).toEqual(fresh);
    expect(result.stderr).toMatch(/captured login state into the store \(login command exited, capture 3\)/);
    expect(fake.family(old.refreshToken)!.revoked).toBe(false); // the old family was never spent twice
  });

  it("a login captured during setup and rotated by cron meanwhile is not committed again at exit", async () => {
    const { root, home, store, bin } = world();
    await storeWithLogin(store);
    const fresh = fake.login();
    const login = writeScript(bin, "login", loginScript({
      credentials: serializeJson({ claudeAiOauth: fresh }),
      after: [waitForFile(path.join(root, "stop")), "exit 0"].join("\n"),
    }));
    const session = setup(store, home, login);
    await waitFor(() => storeOauth(store).refreshToken === fresh.refreshToken, 15_000, "the new login in the store");
    await cronRefresh(store);
    const rotated = storeOauth(store);
    expect(rotated.refreshToken).toBe(fake.latestRefreshToken(fresh.refreshToken));
    const result = await finish(session, root);
    expect(currentCapture(store)!.generation).toBe(3);
    expect(storeOauth(store)).toEqual(rotated);
    expect(result.stderr).toMatch(/captured login state into the store \(credentials changed, capture 2\)/);
    expect(result.stderr).toMatch(/nothing new since this session's login \(capture 2\) \(login command exited\): the store moved on to capture 3 meanwhile/);
    await cronRefresh(store);
    expect(fake.family(fresh.refreshToken)!.revoked).toBe(false);
  });

  it("credentials that only drop the seed's refresh token are never a login: the store keeps its refresh token", async () => {
    const { home, store, bin } = world();
    const seeded = await storeWithLogin(store);
    // A different access token but no refresh token: nothing the CLI makes by logging in.
    const stripped = { ...seeded, accessToken: fake.login().accessToken, refreshToken: "" };
    const login = writeScript(bin, "login", loginScript({ credentials: serializeJson({ claudeAiOauth: stripped }) }));
    const result = await runEntrypoint(["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", login], { home, env: endpointEnv() });
    expectNoTokens(result);
    expect(result.status, result.stderr).toBe(0);
    expect(storeOauth(store)).toEqual(seeded);
    expect(result.stderr).not.toMatch(/captured login state/);
  });
});
