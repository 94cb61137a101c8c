import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { commit } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { runEntrypoint, type Result } from "../support/entrypoint";
import { credentialsText, currentCapture, seedStore, tempRoot } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { canRunEntrypointTests } from "../support/test-user";

// Health mode of the COMPILED entrypoint, for Docker's HEALTHCHECK: exactly one line on
// stdout, exit 0 (healthy) or 1 (unhealthy). It reads the store only.
const HOUR = 3_600_000;

async function health(store: string, extra: string[] = []): Promise<Result> {
  const result = await runEntrypoint(["health", "--store", store, ...extra]);
  expectNoTokens(result);
  expect(result.stdout.split("\n")).toHaveLength(2); // one line and its newline
  expect(result.stderr).toBe("");
  return result;
}

describe.runIf(canRunEntrypointTests())("health mode", () => {
  it("valid credentials: exit 0, how long they last, whether a refresh token is there", async () => {
    const store = path.join(tempRoot(), "store");
    await seedStore(store, { ".credentials.json": credentialsText("healthy", { expiresInMs: 8 * HOUR }) });
    const result = await health(store);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^healthy: credentials valid, access token expires in 7h 59m \(refresh token present\)\n$/);
  });

  it("valid credentials without a refresh token say so", async () => {
    const store = path.join(tempRoot(), "store");
    await seedStore(store, { ".credentials.json": credentialsText("norefresh", { expiresInMs: 2 * HOUR, refreshToken: null }) });
    const result = await health(store);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^healthy: credentials valid, access token expires in 1h 59m \(no refresh token\)\n$/);
  });

  it("expired credentials: exit 1, how long ago", async () => {
    const store = path.join(tempRoot(), "store");
    await seedStore(store, { ".credentials.json": credentialsText("expired", { expiresInMs: -2 * HOUR }) });
    const result = await health(store);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^unhealthy: access token expired 2h 0m ago \(refresh token present\)\n$/);
  });

  it("--min-validity: unhealthy when the token lapses within it", async () => {
    const store = path.join(tempRoot(), "store");
    await seedStore(store, { ".credentials.json": credentialsText("soon", { expiresInMs: 10 * 60_000 }) });
    expect((await health(store)).status).toBe(0);
    const result = await health(store, ["--min-validity", "1h"]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^unhealthy: access token expires within the required 1h 0m: in 9m 5\ds \(refresh token present\)\n$/);
  });

  it("a long-lived token is healthy", async () => {
    const store = path.join(tempRoot(), "store");
    await commit(new DirStore(store), (draft) => fs.writeFileSync(path.join(draft, "oauth-token"), "sk-ant-oat01-longlivedhealth-0123456789\n"), { source: "setup-token", mode: "long-lived" });
    const result = await health(store);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("healthy: long-lived token present\n");
  });

  it("a missing store: exit 1, names the path", async () => {
    const store = path.join(tempRoot(), "nothing-mounted-here");
    const result = await health(store);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe(`unhealthy: no store mounted at ${store}\n`);
  });

  it("an empty store (mounted, never set up): exit 1, says to run setup", async () => {
    for (const prepare of [(dir: string) => fs.mkdirSync(dir), (dir: string) => new DirStore(dir).ensure()]) {
      const store = path.join(tempRoot(), "store");
      prepare(store);
      const result = await health(store);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe("unhealthy: the store holds no capture: run docker claudeauth setup\n");
    }
  });

  it("a capture damaged by hand: exit 1, says what is wrong, never prints a token", async () => {
    const store = path.join(tempRoot(), "store");
    await seedStore(store, { ".credentials.json": credentialsText("damaged") });
    const file = path.join(currentCapture(store)!.dir, ".credentials.json");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").slice(0, 70));
    const result = await health(store);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("unhealthy: the store's capture is invalid: .credentials.json is not valid JSON (truncated or corrupt)\n");
  });
});
