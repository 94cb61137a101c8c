// The token-lifecycle soak: N workers × M runs of the real Claude CLI in the production
// image, against the fake Anthropic endpoint, with access tokens that live inside the CLI's
// 5-minute refresh window so nearly every run wants a refresh. Runs either our design
// (docker claudeauth run) or the seed's (a plain copy of a frozen capture per run).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { startFakeAnthropic, type FakeAnthropic } from "../fake-anthropic";
import { commit } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { serializeJson } from "../../core/credentials";
import { pluginBinary } from "./images";
import { findTokens, scanOutput } from "./token-scan";

const CA_IN_CONTAINER = "/etc/claudeauth-test/fake-ca.pem";
const CLAUDE_PROMPT = ["claude", "-p", "hi", "--no-session-persistence", "--output-format", "json"];

export type Design = "claudeauth" | "seed";
export type SoakOptions = { design: Design; workers: number; runsPerWorker: number; accessTokenTtlSeconds: number; image: string };
export type SoakResult = {
  design: Design;
  runs: number;
  ok: number;
  notLoggedIn: number;
  invalidGrant: number;
  familiesRevoked: number;
  refreshes: number;
  /** Runs after which the store did not read as valid; null for the seed's design, which has no store to check. */
  storeInvalidAfterRun: number | null;
  storeHoldsNewestRefreshToken: boolean;
  tokenLeaks: number;
  seconds: number;
};

export async function soak(options: SoakOptions): Promise<SoakResult> {
  const fake = await startFakeAnthropic({ accessTokenTtlSeconds: options.accessTokenTtlSeconds });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `claudeauth-soak-${options.design}-`));
  fs.chmodSync(dir, 0o755); // the fake's CA file lives apart; the store below stays 0700
  const store = path.join(dir, "store");
  try {
    await seedStore(store, fake);
    const frozen = freezeCapture(store, path.join(dir, "frozen"));
    const result: SoakResult = {
      design: options.design, runs: 0, ok: 0, notLoggedIn: 0, invalidGrant: 0, familiesRevoked: 0, refreshes: 0,
      storeInvalidAfterRun: options.design === "claudeauth" ? 0 : null, storeHoldsNewestRefreshToken: false, tokenLeaks: 0, seconds: 0,
    };
    const started = Date.now();
    const worker = async () => {
      for (let i = 0; i < options.runsPerWorker; i++) {
        const run = options.design === "claudeauth" ? await runOurs(store, fake, options.image) : await runSeed(frozen, fake, options.image);
        const output = run.stdout + run.stderr;
        result.runs++;
        if (run.exitCode === 0 && isSuccess(run.stdout)) result.ok++;
        if (/not logged in/i.test(output)) result.notLoggedIn++;
        if (process.env.SOAK_DEBUG && run.exitCode !== 0) console.error(`run ${result.runs} exit ${run.exitCode}: ${output.slice(-600)}`);
        if (findTokens(output).length) result.tokenLeaks++;
        scanOutput(`soak ${options.design} run`, output);
        if (result.storeInvalidAfterRun !== null && !storeIsValid(store)) result.storeInvalidAfterRun++;
      }
    };
    await Promise.all(Array.from({ length: options.workers }, worker));
    result.seconds = (Date.now() - started) / 1000;
    result.invalidGrant = fake.stats.invalidGrant;
    result.familiesRevoked = fake.stats.familiesRevoked;
    result.refreshes = fake.stats.refreshOk;
    result.storeHoldsNewestRefreshToken = new DirStore(store).readCurrentSync()?.credentials?.claudeAiOauth.refreshToken === fake.latestRefreshToken();
    return result;
  } finally {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function seedStore(store: string, fake: FakeAnthropic): Promise<void> {
  const credentials = { claudeAiOauth: fake.login() };
  await commit(new DirStore(store), (draft) => {
    fs.writeFileSync(path.join(draft, ".credentials.json"), serializeJson(credentials), { mode: 0o600 });
    fs.writeFileSync(path.join(draft, ".claude.json"), serializeJson({ hasCompletedOnboarding: true }), { mode: 0o600 });
  }, { source: "soak", mode: "oauth" });
}

/** The seed's capture: a plain directory of the CLI's files, copied into every run and never written back. */
function freezeCapture(store: string, frozen: string): string {
  const capture = new DirStore(store).readCurrentSync()!;
  fs.mkdirSync(frozen, { mode: 0o755 });
  for (const name of [".credentials.json", ".claude.json"]) {
    fs.copyFileSync(path.join(capture.dir, name), path.join(frozen, name));
    fs.chmodSync(path.join(frozen, name), 0o644);
  }
  return frozen;
}

export function fakeEndpointArgs(fake: FakeAnthropic): string[] {
  return ["--network", "host", "-e", `HTTPS_PROXY=${fake.proxyUrl}`, "-e", `NODE_EXTRA_CA_CERTS=${CA_IN_CONTAINER}`, "-v", `${fake.caPath}:${CA_IN_CONTAINER}:ro`];
}

function runOurs(store: string, fake: FakeAnthropic, image: string) {
  return execa(pluginBinary(), ["run", "--store", store, "--image", image, "--no-workspace", ...fakeEndpointArgs(fake), "--", ...CLAUDE_PROMPT], { reject: false, stdin: "ignore" });
}

function runSeed(frozen: string, fake: FakeAnthropic, image: string) {
  const copyAndRun = `mkdir -p "$HOME/.claude" && cp /seed/.credentials.json "$HOME/.claude/" && cp /seed/.claude.json "$HOME/" && exec "$@"`;
  return execa("docker", [
    "run", "--rm", "--user", "claude", "--entrypoint", "/bin/sh", ...fakeEndpointArgs(fake), "-v", `${frozen}:/seed:ro`,
    image, "-c", copyAndRun, "sh", ...CLAUDE_PROMPT,
  ], { reject: false, stdin: "ignore" });
}

export function isSuccess(stdout: string): boolean {
  try {
    return JSON.parse(stdout.trim().split("\n").pop()!).is_error === false;
  } catch {
    return false;
  }
}

/** The store's current capture reads and holds OAuth credentials (an empty store is not valid). */
export function storeIsValid(store: string): boolean {
  try {
    return Boolean(new DirStore(store).readCurrentSync()?.credentials);
  } catch {
    return false;
  }
}

/** The soak's figures as a Markdown table, one column per design: BENCHMARKS.md pastes it as printed. */
export function formatSoak(results: SoakResult[]): string {
  const rows: [string, (r: SoakResult) => string | number][] = [
    ["runs", (r) => r.runs], ["successful runs", (r) => r.ok], ['"Not logged in"', (r) => r.notLoggedIn],
    ["invalid_grant", (r) => r.invalidGrant], ["families revoked", (r) => r.familiesRevoked], ["refreshes", (r) => r.refreshes],
    ["store invalid after a run", (r) => r.storeInvalidAfterRun ?? "n/a"], ["store holds newest refresh token", (r) => String(r.storeHoldsNewestRefreshToken)],
    ["token-shaped strings in output", (r) => r.tokenLeaks], ["wall time (s)", (r) => r.seconds.toFixed(1)],
  ];
  const line = (cells: Array<string | number>) => `| ${cells.join(" | ")} |`;
  return [line(["", ...results.map((r) => r.design)]), line(["---", ...results.map(() => "---:")]), ...rows.map(([label, get]) => line([label, ...results.map(get)]))].join("\n");
}
