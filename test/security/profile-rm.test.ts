import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { serializeJson } from "../../core/credentials";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { startEntrypoint, waitFor } from "../support/entrypoint";
import { seedStore, snapshotTree, tempRoot } from "../support/fixtures";
import { startRelay } from "../support/relay";
import { canRunEntrypointTests, STORE_OWNER } from "../support/test-user";
import { offlinePlugin } from "./support";

// Attack 10 (profile rm): a root entrypoint that dies holding the store lock must leave
// nothing the store's owner cannot remove; leftovers of older versions (root-owned
// .lock.stale-* dirs) are refused in one line, with the fix, before anything is removed.

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(() => fake?.close());


/** A hub (~/.claude-hub) of the store owner holding profile `work`. */
async function hubWithProfile() {
  const home = tempRoot("claudeauth-sec-rm-");
  fs.chownSync(home, STORE_OWNER.uid, STORE_OWNER.gid);
  const hub = path.join(home, ".claude-hub");
  fs.mkdirSync(hub, { mode: 0o700 });
  fs.chownSync(hub, STORE_OWNER.uid, STORE_OWNER.gid);
  const store = path.join(hub, "work");
  await seedStore(store, { ".credentials.json": serializeJson({ claudeAiOauth: fake.login({ accessTokenTtlSeconds: 60 }) }) });
  return { home, store };
}

/** `docker claudeauth profile rm --force work`, as the store's owner (not root). */
const removeAsOwner = (home: string) => offlinePlugin(["profile", "rm", "--force", "work"], { home, as: STORE_OWNER });

describe.runIf(canRunEntrypointTests())("attack 10: profile rm after a root entrypoint died holding the lock", () => {
  it("everything a killed root entrypoint leaves in the store belongs to the store owner, so profile rm removes it", async () => {
    const { home, store } = await hubWithProfile();
    const relay = await startRelay(fake.proxyUrl);
    onTestFinished(() => relay.close());
    const holder = startEntrypoint(["refresh", "--store", store, "--refresh-margin", "1h"], { env: { HTTPS_PROXY: relay.url, NODE_EXTRA_CA_CERTS: fake.caPath } });
    await waitFor(() => relay.connections() >= 1, 10_000, "the token request");
    holder.kill("SIGKILL");
    await holder.result;
    const left = snapshotTree(store);
    expect(left.some((e) => e.path.startsWith(".lock"))).toBe(true); // it died holding the lock
    expect(left.filter((e) => e.uid !== STORE_OWNER.uid).map((e) => e.path)).toEqual([]);

    const removed = await removeAsOwner(home);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(fs.existsSync(store)).toBe(false);
  });

  it("root-owned leftovers of an older version: one line with the fix, and nothing is removed", async () => {
    const { home, store } = await hubWithProfile();
    const grave = path.join(store, ".lock.stale-12345-abcdef");
    fs.mkdirSync(grave, { mode: 0o700 });
    fs.writeFileSync(path.join(grave, "owner"), "pid:[4026531836] 12345 2026-01-01T00:00:00.000Z\n");
    const before = snapshotTree(store);

    const result = await removeAsOwner(home);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/cannot remove .*work: 1 entry belongs to another user \(e\.g\. \.lock\.stale-12345-abcdef.*nothing was removed; remove it with: sudo rm -rf .*work/);
    expect(snapshotTree(store)).toEqual(before);
  });
});
