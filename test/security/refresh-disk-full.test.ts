import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { serializeJson } from "../../core/credentials";
import { DirStore } from "../../core/store-dir";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { runEntrypoint } from "../support/entrypoint";
import { seedStore, tempRoot } from "../support/fixtures";
import { startRelay } from "../support/relay";
import { canRunEntrypointTests } from "../support/test-user";
import { expectNoTokens } from "../support/tokens";

// Attack 8, a full disk after the token was spent. The store is a real, tiny tmpfs; the
// disk fills up the moment the entrypoint's token request leaves (the relay in front of
// the fake endpoint runs the filler first), so the endpoint has rotated the pair when the
// commit finds no space. The rotated pair must not be lost, and the spent token must never
// be sent again: the fake endpoint counts every refresh, and revokes the family on reuse.

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(() => fake?.close());

const STACK_TRACE = /^\s+at |internal error/m;

/** A 1 MiB tmpfs, unmounted after the test: a disk that can really be full. */
function tinyDisk(): string {
  const dir = path.join(tempRoot("claudeauth-sec-disk-"), "disk");
  fs.mkdirSync(dir);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", dir]);
  onTestFinished(() => void execFileSync("umount", ["-l", dir]));
  return dir;
}

/** Writes a file until the disk says ENOSPC; returns it (remove it to free the space). */
function fill(dir: string): string {
  const file = path.join(dir, `filler-${fs.readdirSync(dir).length}`);
  const fd = fs.openSync(file, "w");
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

const refreshArgs = (store: string) => ["refresh", "--store", store, "--refresh-margin", "1h"];

describe.runIf(canRunEntrypointTests())("attack 8: the disk fills up after the endpoint answered", () => {
  it("the rotated pair goes to a rescue file; while the disk is full nothing is sent; once there is room the next run adopts it; each refresh token reaches the endpoint once", async () => {
    const disk = tinyDisk();
    const store = path.join(disk, "store");
    const login = fake.login({ accessTokenTtlSeconds: 60 });
    await seedStore(store, { ".credentials.json": serializeJson({ claudeAiOauth: login }) });
    const stats = { ok: fake.stats.refreshOk, bad: fake.stats.invalidGrant, revoked: fake.stats.familiesRevoked };
    const tokenRequests = () => fake.stats.byPath["/v1/oauth/token"] ?? 0;
    const requestsBefore = tokenRequests();

    let filler = "";
    const relay = await startRelay(fake.proxyUrl, () => (filler = fill(disk)), false);
    onTestFinished(() => relay.close());
    const env = { HTTPS_PROXY: relay.url, NODE_EXTRA_CA_CERTS: fake.caPath };

    const first = await runEntrypoint(refreshArgs(store), { env });
    expectNoTokens(first);
    expect(filler).not.toBe("");
    expect(first.status).toBe(1);
    expect(first.stderr).not.toMatch(STACK_TRACE);
    expect(first.stderr.trim().split("\n")).toHaveLength(1);
    expect(first.stderr).toMatch(/ENOSPC.*kept in .*rescue\.json.*free space/);
    expect(tokenRequests() - requestsBefore).toBe(1);
    expect(new DirStore(store).readCurrentSync()!.credentials!.claudeAiOauth.refreshToken).toBe(login.refreshToken); // the store itself never half-written

    // The failed run gave back its own reservation: fill that too. Full: the next refresh
    // must not send the (spent) token in the store.
    const refill = fill(path.join(disk, "store"));
    const stillFull = await runEntrypoint(refreshArgs(store), { env });
    expectNoTokens(stillFull);
    expect(stillFull.status).toBe(1);
    expect(stillFull.stderr).not.toMatch(STACK_TRACE);
    expect(stillFull.stderr).toMatch(/refreshed token that is not committed yet.*free space/);
    expect(tokenRequests() - requestsBefore).toBe(1);

    // Room again: the next run adopts the rescued pair, without a token request.
    fs.rmSync(filler);
    fs.rmSync(refill);
    const adopted = await runEntrypoint(refreshArgs(store), { env });
    expectNoTokens(adopted);
    expect(adopted.status, adopted.stderr).toBe(0);
    expect(adopted.stderr).toMatch(/adopted the refreshed token/);
    const current = new DirStore(store).readCurrentSync()!;
    expect(current.credentials!.claudeAiOauth.refreshToken).toBe(fake.latestRefreshToken(login.refreshToken));
    expect(current.meta.source).toBe("rescue");
    expect(fs.existsSync(path.join(store, "rescue.json"))).toBe(false);
    expect(tokenRequests() - requestsBefore).toBe(1);
    expect(fake.stats.refreshOk - stats.ok).toBe(1);
    expect(fake.stats.invalidGrant - stats.bad).toBe(0);
    expect(fake.stats.familiesRevoked - stats.revoked).toBe(0);
  });

  it("a disk already full stops the refresh before the token is spent, in one line", async () => {
    const disk = tinyDisk();
    const store = path.join(disk, "store");
    const login = fake.login({ accessTokenTtlSeconds: 60 });
    await seedStore(store, { ".credentials.json": serializeJson({ claudeAiOauth: login }) });
    const requestsBefore = fake.stats.byPath["/v1/oauth/token"] ?? 0;
    const filler = fill(disk);
    const result = await runEntrypoint(refreshArgs(store), { env: { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath } });
    expectNoTokens(result);
    expect(result.status).toBe(1);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/cannot refresh: .*ENOSPC.*free space .*not spent/);
    expect(fake.stats.byPath["/v1/oauth/token"] ?? 0).toBe(requestsBefore);
    fs.rmSync(filler);
    const after = await runEntrypoint(refreshArgs(store), { env: { HTTPS_PROXY: fake.proxyUrl, NODE_EXTRA_CA_CERTS: fake.caPath } });
    expect(after.status, after.stderr).toBe(0);
    expect(new DirStore(store).readCurrentSync()!.credentials!.claudeAiOauth.refreshToken).toBe(fake.latestRefreshToken(login.refreshToken));
  });
});
