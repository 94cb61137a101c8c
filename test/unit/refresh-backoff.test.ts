// Refresh under load, with the compiled entrypoint against the fake endpoint (no Docker):
// a 429 or a 5xx issues nothing and spends nothing, so the entrypoint waits as Retry-After
// says (seconds or an HTTP date; doubling from a second without one), says each wait in one
// line, and sends the same refresh token again; an endpoint that asks for longer than the
// bounded budget gets no wait at all, and the store keeps its token for the next attempt.
// Every scenario ends with the fake's counters (each token spent exactly once, no family
// revoked) and the store's event log.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { DirStore } from "../../core/store-dir";
import { serializeJson } from "../../core/credentials";
import { parseEvents, readEventsText } from "../../core/events";
import { runEntrypoint } from "../support/entrypoint";
import { seedStore, tempRoot } from "../support/fixtures";
import { canRunEntrypointTests } from "../support/test-user";

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(() => fake?.close());

async function storeWithLogin(): Promise<{ store: string; refreshToken: string }> {
  const store = path.join(tempRoot("claudeauth-backoff-"), "store");
  const credentials = { claudeAiOauth: fake.login({ accessTokenTtlSeconds: 120 }) };
  await seedStore(store, { ".credentials.json": serializeJson(credentials) });
  return { store, refreshToken: credentials.claudeAiOauth.refreshToken };
}

const refresh = (store: string) =>
  runEntrypoint(["refresh", "--store", store, "--refresh-margin", "1h"], { env: { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath } });

/** Token requests answered from now on, by status, and the fake's counters. */
function seen() {
  const from = fake.stats.requests.length;
  const before = { ok: fake.stats.refreshOk, invalid: fake.stats.invalidGrant, revoked: fake.stats.familiesRevoked };
  return () => ({
    statuses: fake.stats.requests.slice(from).filter((r) => r.path === "/v1/oauth/token").map((r) => r.status),
    refreshOk: fake.stats.refreshOk - before.ok,
    invalidGrant: fake.stats.invalidGrant - before.invalid,
    familiesRevoked: fake.stats.familiesRevoked - before.revoked,
  });
}

const refreshEvents = (store: string) => parseEvents(readEventsText(store)).events.filter((e) => e.kind === "refresh");

describe.runIf(canRunEntrypointTests())("refresh backoff on 429 and 5xx", () => {
  it("429 with Retry-After in seconds: waits that long (plus jitter) each time, says so in one line, and spends the token once", async () => {
    const { store, refreshToken } = await storeWithLogin();
    fake.throttleTokenRequests(2, { retryAfter: "1" });
    const counted = seen();
    const result = await refresh(store);
    expect(result.status, result.stderr).toBe(0);
    expect(counted()).toEqual({ statuses: [429, 429, 200], refreshOk: 1, invalidGrant: 0, familiesRevoked: 0 });
    const waits = result.stderr.trim().split("\n");
    expect(waits).toEqual([
      expect.stringMatching(/^claudeauth: the token endpoint platform\.claude\.com answered HTTP 429 \(Retry-After 1\): trying again in 1s \(attempt 2 of 4\)$/),
      expect.stringMatching(/^claudeauth: the token endpoint platform\.claude\.com answered HTTP 429 \(Retry-After 1\): trying again in [12]s \(attempt 3 of 4\)$/),
    ]);
    expect(result.ms).toBeGreaterThanOrEqual(3000); // 1 s, then max(1 s, 2 s backoff)
    expect(result.ms).toBeLessThan(9000);
    const family = fake.family(refreshToken)!;
    expect(family.refreshTokens[0]).toBe(refreshToken);
    expect(new DirStore(store).readCurrentSync()!.credentials!.claudeAiOauth.refreshToken).toBe(family.refreshTokens[1]);
    expect(refreshEvents(store)).toEqual([expect.objectContaining({ outcome: "ok", generation: 2 })]);
  });

  it("503 with Retry-After as an HTTP date: waits until then", async () => {
    const { store } = await storeWithLogin();
    fake.throttleTokenRequests(1, { status: 503, retryAfter: new Date(Date.now() + 3000).toUTCString() });
    const counted = seen();
    const result = await refresh(store);
    expect(result.status, result.stderr).toBe(0);
    expect(counted()).toEqual({ statuses: [503, 200], refreshOk: 1, invalidGrant: 0, familiesRevoked: 0 });
    expect(result.stderr).toMatch(/answered HTTP 503 \(Retry-After .* GMT\): trying again in [1-3]s/);
    expect(result.ms).toBeGreaterThanOrEqual(2000); // an HTTP date counts whole seconds
  });

  it("an endpoint that asks for longer than the budget: no wait, a one-line error saying when, the token kept and good afterwards", async () => {
    const { store, refreshToken } = await storeWithLogin();
    fake.throttleTokenRequests(1, { retryAfter: "120" });
    const counted = seen();
    const failed = await refresh(store);
    expect(failed.status).toBe(1);
    expect(failed.ms).toBeLessThan(5000);
    expect(failed.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^claudeauth: error: token refresh failed: platform\.claude\.com answered HTTP 429 \(rate limited\); it asks to wait 2m 0s: try again after \S+Z \(the store keeps its refresh token\)$/),
    ]);
    expect(counted()).toEqual({ statuses: [429], refreshOk: 0, invalidGrant: 0, familiesRevoked: 0 });
    expect(new DirStore(store).readCurrentSync()!.credentials!.claudeAiOauth.refreshToken).toBe(refreshToken);
    // The token was not consumed: the next attempt spends it, once.
    const again = await refresh(store);
    expect(again.status, again.stderr).toBe(0);
    expect(counted()).toEqual({ statuses: [429, 200], refreshOk: 1, invalidGrant: 0, familiesRevoked: 0 });
    expect(refreshEvents(store).map((e) => e.outcome)).toEqual(["429", "ok"]);
  });

  it("5xx without Retry-After, every time: doubling waits, bounded attempts, then a 5xx event", async () => {
    const { store, refreshToken } = await storeWithLogin();
    fake.throttleTokenRequests(4, { status: 502 });
    const counted = seen();
    const result = await refresh(store);
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines.slice(0, 3).map((l) => /trying again in (\d+)s/.exec(l)?.[1])).toEqual([expect.stringMatching(/^1$/), expect.stringMatching(/^[23]$/), expect.stringMatching(/^[45]$/)]);
    expect(lines[3]).toMatch(/^claudeauth: error: token refresh failed after 4 attempts: platform\.claude\.com answered HTTP 502; try again later \(the store keeps its refresh token\)$/);
    expect(counted()).toEqual({ statuses: [502, 502, 502, 502], refreshOk: 0, invalidGrant: 0, familiesRevoked: 0 });
    expect(new DirStore(store).readCurrentSync()!.credentials!.claudeAiOauth.refreshToken).toBe(refreshToken);
    expect(refreshEvents(store)).toEqual([expect.objectContaining({ outcome: "5xx" })]);
  });
});
