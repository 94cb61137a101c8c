import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureOutput } from "../../core/output";
import { DirStore } from "../../core/store-dir";
import { HomeCapturer } from "../../entrypoint/capture";
import { runEntrypoint, startEntrypoint, type Result } from "../support/entrypoint";
import {
  claudeJsonText,
  credentialsText,
  currentCapture,
  currentCredentialsText,
  makeHome,
  manyCommands,
  seedStore,
  snapshotTree,
  tempRoot,
  writeScript,
  type Tree,
} from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { currentDigest, diedMidCommit, expectedCapture, faultGuards, judgeStore, type Outcome } from "../support/fault-judge";
import { canRunEntrypointTests, STORE_OWNER, TEST_GID, TEST_UID, TEST_USER } from "../support/test-user";

// Faults: the entrypoint is killed at random points of a capture (and, every few trials, at
// once, inside the commit and after it), and bad inputs are thrown at it. Whatever happens,
// the store's current capture, read through the store's own reader, is the previous one (A)
// or the new one (B) byte for byte in every allow-listed file, never anything else; and the
// next capture works. The judge is test/support/fault-judge.ts, shared with the bench.

const TRIALS = Math.max(3, Number(process.env.CLAUDEAUTH_FAULT_TRIALS ?? 200)); // at least the three aimed trials
const CONCURRENCY = Number(process.env.CLAUDEAUTH_FAULT_CONCURRENCY ?? 4);
const COMMAND_FILES = 120; // makes a capture take a few ms (tens of ms here: an fsync per file)
const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGKILL"] as const;
const OWNER = `${STORE_OWNER.uid}:${STORE_OWNER.gid}`;

const setupArgs = (store: string, command: string[]) => ["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", ...command];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// One home with login B and a few hundred command files, shared by every trial: setup only
// reads it (every allow-listed entry is present, so nothing is seeded into it). Each trial
// has a store of its own holding capture A.
let scratch: string;
let home: string;
let a: Tree;
let expected: { A: string[]; B: string[] };
beforeAll(() => {
  configureOutput({ quiet: true }); // the in-process follow-up captures below
  scratch = tempRoot("claudeauth-faults-", false);
  a = { ".credentials.json": credentialsText("A"), ".claude.json": claudeJsonText("a@example.com") };
  home = makeHome(scratch, {
    ".claude/.credentials.json": credentialsText("B"),
    ".claude.json": claudeJsonText("b@example.com"),
    ".claude/settings.json": "{}\n",
    ".claude/CLAUDE.md": "# B\n",
    ".claude/agents/b.md": "b\n",
    ...manyCommands(COMMAND_FILES),
  });
});
beforeAll(async () => {
  const template = await newStore(-1);
  expected = { A: currentDigest(template.store), B: expectedCapture(home) };
  fs.rmSync(template.root, { recursive: true, force: true });
});
afterAll(() => {
  configureOutput({ quiet: false });
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function newStore(index: number): Promise<{ root: string; store: string }> {
  const root = fs.mkdtempSync(path.join(scratch, `t${index}-`));
  const store = path.join(root, "store");
  await seedStore(store, a);
  return { root, store };
}

const judge = (store: string) => judgeStore(store, expected);

/** Whether the store lock is held in the name of a process that exists (the entrypoint was killed: a reused pid). */
function lockOwnerAlive(store: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(store, ".lock"));
  } catch {
    return false;
  }
  // owner.<token>.<pid namespace>.<pid>
  const pid = Number(names.map((name) => /^owner\.[0-9a-f]+\.[^.]+\.(\d+)$/.exec(name)?.[1]).find(Boolean));
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function pool<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

/** When a trial kills setup: never, after a delay, at once, inside its commit (temp dir seen), or after its commit. */
type Plan = { kind: "never" } | { kind: "delay"; ms: number } | { kind: "at once" } | { kind: "mid-commit" } | { kind: "after commit" };

const tempDirIn = (store: string) => fs.readdirSync(path.join(store, "captures")).some((name) => name.startsWith(".tmp-"));
const generationOf = (store: string) => new DirStore(store).currentGeneration();

/** Resolves when `condition` holds, polling between turns of the event loop (sub-millisecond: commits take milliseconds), or when the process ended. */
async function soon(condition: () => boolean, handle: { child: { exitCode: number | null; signalCode: string | null } }): Promise<boolean> {
  for (;;) {
    if (condition()) return true;
    if (handle.child.exitCode !== null || handle.child.signalCode !== null) return false;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

type TrialReport = {
  index: number;
  plan: Plan["kind"];
  signal: string;
  delayMs: number;
  runMs: number;
  outcome: Outcome;
  killed: boolean;
  /** Killed mid-commit: it left a temp dir (or its lock) behind. */
  midCommit: boolean;
  followUpMs: number;
  problems: string[];
};

/** One trial: setup with A in the store and B in the home, killed as `plan` says. */
async function killTrial(index: number, plan: Plan): Promise<TrialReport> {
  const { root, store } = await newStore(index);
  const problems: string[] = [];
  const signal = plan.kind === "delay" ? SIGNALS[index % SIGNALS.length]! : "SIGKILL";
  const delayMs = plan.kind === "delay" ? plan.ms : null;
  // A login command that exits at once, or one that runs briefly (signals then reach it too).
  const command = index % 2 === 0 ? ["true"] : ["sleep", "0.1"];
  const handle = startEntrypoint(setupArgs(store, command), { home });
  const watchdog = setTimeout(() => handle.kill("SIGKILL"), 20_000);
  const started0 = performance.now();
  if (plan.kind === "delay") await sleep(plan.ms);
  let aimed = plan.kind !== "never";
  if (plan.kind === "mid-commit") aimed = await soon(() => tempDirIn(store), handle);
  if (plan.kind === "after commit") aimed = await soon(() => generationOf(store) === 2, handle);
  const killedAtMs = performance.now() - started0;
  if (aimed) handle.kill(signal);
  let result: Result;
  try {
    result = await handle.result;
  } finally {
    clearTimeout(watchdog);
  }
  if (result.ms > 19_000) problems.push(`the entrypoint hung (${Math.round(result.ms)} ms)`);
  if (plan.kind === "never" && result.status !== 0) problems.push(`unkilled setup exited ${result.status}: ${result.stderr.trim()}`);
  const { outcome, detail } = judge(store);
  if (outcome === "invalid") problems.push(`store invalid: ${detail}`);
  if (plan.kind === "never" && outcome !== "B") problems.push(`unkilled setup left ${outcome}, not B: ${detail}`);
  if (plan.kind === "at once" && outcome !== "A") problems.push(`killed at once, the store holds ${outcome}`);
  if (plan.kind === "after commit" && aimed && outcome !== "B") problems.push(`killed after its commit, the store holds ${outcome}`);
  const midCommit = result.signal !== null && diedMidCommit(store);

  // A killed holder's pid may already belong to another process (pid_max is 32768 on a busy
  // machine): the lock then looks held until it goes stale (30 s), by design.
  const pidReused = lockOwnerAlive(store);

  // A following normal capture succeeds, and leftovers (temp dirs, a dead holder's lock) do
  // not hold it up for long. Mostly in-process (the same capture code), every twentieth time
  // with the compiled binary.
  const started = performance.now();
  if (index % 20 === 5) {
    const again = await runEntrypoint(setupArgs(store, ["true"]), { home, timeoutMs: 20_000 });
    if (again.status !== 0) problems.push(`follow-up setup exited ${again.status}: ${again.stderr.trim()}`);
  } else {
    const again = await new HomeCapturer(new DirStore(store, STORE_OWNER), home).capture("follow-up", { force: true });
    if (again.status !== "captured") problems.push(`follow-up capture: ${JSON.stringify(again)}`);
  }
  const followUpMs = performance.now() - started;
  if (followUpMs > (pidReused ? 40_000 : 20_000)) problems.push(`follow-up capture took ${Math.round(followUpMs)} ms`);
  if (judge(store).outcome !== "B") problems.push("the follow-up capture did not make B current");
  const leftovers = fs.readdirSync(path.join(store, "captures")).filter((name) => name.startsWith(".tmp-"));
  if (leftovers.length) problems.push(`temp dirs left after the follow-up: ${leftovers.join(", ")}`);
  if (fs.existsSync(path.join(store, ".lock"))) problems.push("lock left after the follow-up");

  fs.rmSync(root, { recursive: true, force: true });
  return { index, plan: plan.kind, signal, delayMs: delayMs ?? killedAtMs, runMs: result.ms, outcome, killed: result.signal !== null, midCommit, followUpMs, problems };
}

/** Trial i's plan: the first three land at once, inside the commit and after it; then every eighth inside the commit; the rest at random delays. */
function planFor(index: number, lifetimeMs: number): Plan {
  if (index === 0) return { kind: "at once" };
  if (index === 1 || index % 8 === 7) return { kind: "mid-commit" };
  if (index === 2) return { kind: "after commit" };
  return { kind: "delay", ms: Math.random() * lifetimeMs * 1.1 };
}

describe.runIf(canRunEntrypointTests())("fault injection: killing the entrypoint during a capture", () => {
  it(`${TRIALS} trials, TERM/INT/HUP/KILL at random points and KILL inside the commit: the store is always exactly A or B, and the next capture works`, async () => {
    // The entrypoint's lifetime under this load, from unkilled runs: kill delays are spread over it.
    const baseline = await pool(CONCURRENCY, CONCURRENCY, (i) => killTrial(100_000 + i, { kind: "never" }));
    for (const report of baseline) expect(report.problems, `baseline ${report.index}`).toEqual([]);
    const lifetimeMs = baseline.reduce((sum, r) => sum + r.runMs, 0) / baseline.length;

    const started = performance.now();
    const reports = await pool(TRIALS, CONCURRENCY, (i) => killTrial(i, planFor(i, lifetimeMs)));
    // A commit takes milliseconds and a busy event loop can miss it: aim again, one at a time, until one kill landed inside.
    for (let extra = 0; extra < 5 && !reports.some((r) => r.plan === "mid-commit" && r.midCommit); extra++) {
      reports.push(await killTrial(TRIALS + extra, { kind: "mid-commit" }));
    }
    const seconds = (performance.now() - started) / 1000;
    const count = (outcome: Outcome) => reports.filter((r) => r.outcome === outcome).length;
    const killed = reports.filter((r) => r.killed).length;
    const midCommit = reports.filter((r) => r.midCommit);
    const forced = reports.filter((r) => r.plan === "mid-commit");
    const slowest = Math.max(...reports.map((r) => r.followUpMs));
    console.log(
      `fault injection: ${reports.length} trials in ${seconds.toFixed(1)} s (unkilled lifetime ${Math.round(lifetimeMs)} ms): ` +
        `A=${count("A")} B=${count("B")} invalid=${count("invalid")}; died of the signal: ${killed}; ` +
        `killed mid-commit (temp dir or lock left): ${midCommit.length} (A=${midCommit.filter((r) => r.outcome === "A").length}), ` +
        `of them aimed at the commit: ${forced.filter((r) => r.midCommit).length}/${forced.length}; slowest follow-up ${Math.round(slowest)} ms`,
    );
    const problems = reports.flatMap((r) => r.problems.map((p) => `trial ${r.index} (${r.plan}, ${r.signal} at ${Math.round(r.delayMs)} ms): ${p}`));
    expect(problems).toEqual([]);
    // At any trial count: kills kept A, made B, and landed inside a commit.
    expect(faultGuards({ A: count("A"), B: count("B"), invalid: count("invalid"), midCommit: midCommit.length })).toEqual([]);
  }, 600_000); // ~1 min on an idle 2-core machine; far longer when the machine is shared
});

// ---------------------------------------------------------------------------------------

type World = { root: string; home: string; store: string; a: string; before: ReturnType<typeof snapshotTree> };

async function badInputWorld(homeFiles: Tree): Promise<World> {
  const root = tempRoot();
  const store = path.join(root, "store");
  const a = credentialsText("previous");
  await seedStore(store, { ".credentials.json": a, ".claude.json": claudeJsonText("a@example.com"), "CLAUDE.md": "# A\n" });
  const home = makeHome(root, homeFiles);
  return { root, home, store, a, before: snapshotTree(store) };
}

function warnings(result: Result): string[] {
  return result.stderr.split("\n").filter((line) => line.startsWith("claudeauth: warn: "));
}

async function setup(world: World, command: string[] = ["true"], options: { readOnly?: string[] } = {}): Promise<Result> {
  const result = await runEntrypoint(setupArgs(world.store, command), { home: world.home, timeoutMs: 30_000, ...options });
  expectNoTokens(result);
  return result;
}

describe.runIf(canRunEntrypointTests())("bad inputs: the store keeps what it had, with one line saying why", () => {
  it.each([
    ["empty", () => "", /\.credentials\.json is empty/],
    ["whitespace only", () => "\n  \n", /\.credentials\.json is empty/],
    ["truncated", () => credentialsText("cut").slice(0, 90), /not valid JSON \(truncated or corrupt\)/],
    ["invalid JSON", () => "{'claudeAiOauth': 1}", /not valid JSON/],
    ["of the wrong shape", () => JSON.stringify({ claudeAiOauth: { accessToken: ["x"], expiresAt: 1 } }), /unexpected shape at "claudeAiOauth\.accessToken"/],
    ["blanked by a failed refresh", () => JSON.stringify({ claudeAiOauth: { accessToken: "", refreshToken: "", expiresAt: 0 } }), /blanked tokens/],
  ])("%s credentials: not captured, the previous capture stays; one warning naming the file; exit 1", async (_what, content, problem) => {
    const world = await badInputWorld({ ".claude/.credentials.json": content(), ".claude.json": claudeJsonText("b@example.com") });
    const result = await setup(world);
    expect(result.status).toBe(1); // the login command succeeded but left no usable login
    const warned = warnings(result);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/^claudeauth: warn: not captured \(login command exited\): ~\/\.claude\/\.credentials\.json: /);
    expect(warned[0]).toMatch(problem);
    expect(warned[0]).toMatch(/the earlier capture is kept/);
    expect(snapshotTree(world.store)).toEqual(world.before);
    expect(currentCredentialsText(world.store)).toBe(world.a);
  });

  it("a symlink pointing outside the home is not followed, and what it points to is not copied", async () => {
    const world = await badInputWorld({ ".claude/.credentials.json": credentialsText("b"), ".claude.json": claudeJsonText() });
    const outside = path.join(world.root, "outside");
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, "secret.md"), "OUTSIDE-SECRET\n");
    fs.mkdirSync(path.join(outside, "dir"));
    fs.writeFileSync(path.join(outside, "dir", "x.md"), "OUTSIDE-SECRET\n");
    const claude = path.join(world.home, ".claude");
    fs.mkdirSync(path.join(claude, "commands"));
    fs.writeFileSync(path.join(claude, "commands", "ok.md"), "ok\n");
    fs.symlinkSync(path.join(outside, "secret.md"), path.join(claude, "commands", "evil.md"));
    fs.symlinkSync(path.join(outside, "dir"), path.join(claude, "agents"));
    fs.symlinkSync("/etc/passwd", path.join(claude, "settings.json"));
    fs.symlinkSync(path.join(outside, "secret.md"), path.join(claude, "CLAUDE.md"));

    const result = await setup(world);
    expect(result.status).toBe(0);
    expect(warnings(result).sort()).toEqual([
      "claudeauth: warn: skipped ~/.claude/CLAUDE.md: is a symlink (not followed)",
      "claudeauth: warn: skipped ~/.claude/agents: is a symlink (not followed)",
      "claudeauth: warn: skipped ~/.claude/commands/evil.md: is a symlink (not followed)",
      "claudeauth: warn: skipped ~/.claude/settings.json: is a symlink (not followed)",
    ]);
    const capture = currentCapture(world.store)!;
    expect(capture.generation).toBe(2);
    const entries = snapshotTree(capture.dir);
    expect(entries.map((e) => e.path).sort()).toEqual([".claude.json", ".credentials.json", "claudeauth.json", "commands", "commands/ok.md"]);
    expect(entries.every((e) => e.kind === "file" || e.kind === "dir")).toBe(true);
    for (const entry of entries.filter((e) => e.kind === "file")) {
      const text = fs.readFileSync(path.join(capture.dir, entry.path), "utf8");
      expect(text).not.toContain("OUTSIDE-SECRET");
      expect(text).not.toContain("root:x:0:0");
    }
  });

  it("credentials that are a symlink (to valid credentials outside) are not followed: the previous capture stays", async () => {
    const world = await badInputWorld({ ".claude.json": claudeJsonText() });
    const outside = path.join(world.root, "outside.json");
    fs.writeFileSync(outside, credentialsText("outside"));
    fs.mkdirSync(path.join(world.home, ".claude"));
    fs.symlinkSync(outside, path.join(world.home, ".claude", ".credentials.json"));
    const result = await setup(world);
    expect(result.status).toBe(1);
    expect(warnings(result)).toEqual([
      "claudeauth: warn: not captured (login command exited): ~/.claude/.credentials.json: is a symlink (not followed); the earlier capture is kept — finish the login (/login in claude) and exit",
    ]);
    expect(snapshotTree(world.store)).toEqual(world.before);
  });

  it("a ~/.claude.json that is a symlink is skipped; the credentials are still captured", async () => {
    const world = await badInputWorld({ ".claude/.credentials.json": credentialsText("b") });
    fs.writeFileSync(path.join(world.root, "elsewhere.json"), claudeJsonText("elsewhere@example.com"));
    fs.symlinkSync(path.join(world.root, "elsewhere.json"), path.join(world.home, ".claude.json"));
    const result = await setup(world);
    expect(result.status).toBe(0);
    expect(warnings(result)).toEqual([`claudeauth: warn: skipped /home/claudetest/.claude.json: is a symlink (not followed)`]);
    const capture = currentCapture(world.store)!;
    expect(capture.generation).toBe(2);
    expect(fs.existsSync(path.join(capture.dir, ".claude.json"))).toBe(false);
  });

  it("a ~/.claude that is a symlink to a directory outside the home is not followed", async () => {
    const world = await badInputWorld({});
    const outside = path.join(world.root, "outside-claude");
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, ".credentials.json"), credentialsText("outside-dir"));
    fs.writeFileSync(path.join(outside, "CLAUDE.md"), "OUTSIDE-SECRET\n");
    fs.symlinkSync(outside, path.join(world.home, ".claude"));
    const result = await setup(world);
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toBe("claudeauth: error: /home/claudetest/.claude is a symlink (not followed): make it a real directory in the setup home\n");
    expect(fs.statSync(outside).uid).toBe(0); // not chowned to the login user either
    expect(snapshotTree(world.store)).toEqual(world.before);
  });

  it("a ~/.claude swapped for a symlink during the login is not followed: nothing is captured from its target", async () => {
    const world = await badInputWorld({});
    const outside = path.join(world.root, "root-only");
    fs.mkdirSync(outside, { mode: 0o755 });
    fs.writeFileSync(path.join(outside, ".credentials.json"), credentialsText("planted"));
    fs.writeFileSync(path.join(outside, "CLAUDE.md"), "OUTSIDE-SECRET\n", { mode: 0o600 });
    const swap = writeScript(path.join(world.root, "bin"), "swap", `set -e\nmv "$HOME/.claude" "$HOME/.claude-real"\nln -s '${outside}' "$HOME/.claude"\n`);
    const result = await setup(world, [swap]);
    expect(result.status).toBe(1);
    const warned = warnings(result);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(
      /^claudeauth: warn: not captured \((login command exited|credentials changed)\): ~\/\.claude\/\.credentials\.json: ~\/\.claude is a symlink \(not followed\); the earlier capture is kept/,
    );
    expect(snapshotTree(world.store)).toEqual(world.before);
  });

  it("a FIFO in commands/ is skipped without opening it (no hang); a FIFO as the credentials is refused", async () => {
    const world = await badInputWorld({ ".claude/.credentials.json": credentialsText("b"), ".claude/commands/ok.md": "ok\n" });
    execFileSync("mkfifo", [path.join(world.home, ".claude", "commands", "pipe.md")]);
    const result = await setup(world);
    expect(result.status).toBe(0);
    expect(result.ms).toBeLessThan(10_000);
    expect(warnings(result)).toEqual(["claudeauth: warn: skipped ~/.claude/commands/pipe.md: is a FIFO"]);
    expect(fs.readdirSync(path.join(currentCapture(world.store)!.dir, "commands"))).toEqual(["ok.md"]);

    const fifo = await badInputWorld({});
    fs.mkdirSync(path.join(fifo.home, ".claude"));
    execFileSync("mkfifo", [path.join(fifo.home, ".claude", ".credentials.json")]);
    const refused = await setup(fifo);
    expect(refused.status).toBe(1);
    expect(warnings(refused)).toEqual([
      "claudeauth: warn: not captured (login command exited): ~/.claude/.credentials.json: is a FIFO; the earlier capture is kept — finish the login (/login in claude) and exit",
    ]);
    expect(snapshotTree(fifo.store)).toEqual(fifo.before);
  });

  it("100 MB of junk in ~/.claude/projects/ is never read: the capture stays fast and small", async () => {
    const plain = await badInputWorld({ ".claude/.credentials.json": credentialsText("plain"), ".claude/projects/-w/s.jsonl": "{}\n" });
    const junk = await badInputWorld({ ".claude/.credentials.json": credentialsText("junk") });
    const projects = path.join(junk.home, ".claude", "projects", "-work");
    fs.mkdirSync(projects, { recursive: true });
    const big = path.join(projects, "history.jsonl");
    const chunk = crypto.randomBytes(1024 * 1024);
    const fd = fs.openSync(big, "w");
    for (let i = 0; i < 100; i++) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    fs.chownSync(big, TEST_UID, TEST_GID);
    // relatime updates the access time on the next read when it is older than the mtime.
    const day = 86_400;
    const now = Date.now() / 1000;
    fs.utimesSync(big, now - 2 * day, now - day);
    const atimeBefore = fs.statSync(big).atimeMs;

    const baseline = await setup(plain);
    const result = await setup(junk);
    expect([baseline.status, result.status]).toEqual([0, 0]);
    expect(fs.statSync(big).atimeMs).toBe(atimeBefore); // never opened for reading
    // Reading 100 MB would not take long either; the access time above is the proof. This
    // only catches a capture that walks into projects/ and gets lost there.
    expect(result.ms).toBeLessThan(baseline.ms * 3 + 5_000);
    const capture = currentCapture(junk.store)!;
    // Only the allow-list (plus what the home was seeded with from the previous capture).
    expect(fs.readdirSync(capture.dir).sort()).toEqual([".claude.json", ".credentials.json", "CLAUDE.md", "claudeauth.json"]);
    const bytes = snapshotTree(junk.store).filter((e) => e.kind === "file").reduce((sum, e) => sum + fs.statSync(path.join(junk.store, e.path)).size, 0);
    expect(bytes).toBeLessThan(64 * 1024);
  });

  it("a missing store directory: one line naming it and the fix, non-zero exit, the login is not started for nothing", async () => {
    const root = tempRoot();
    const home = makeHome(root, { ".claude/.credentials.json": credentialsText("b") });
    const store = path.join(root, "not-mounted", "store");
    const marker = path.join(root, "ran");
    const command = writeScript(path.join(root, "bin"), "login", `touch ${marker}\n`);
    const result = await runEntrypoint(setupArgs(store, [command]), { home });
    expectNoTokens(result);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `claudeauth: error: cannot use the store at ${store}: ENOENT: no such file or directory, mkdir '${store}'; create its parent directory or mount the store there\n`,
    );
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(path.join(home, ".claude", ".credentials.json"))).toBe(true); // the home's login is untouched
  });

  it("a read-only store: one line naming it and the fix, non-zero exit, the previous capture intact", async () => {
    const world = await badInputWorld({ ".claude/.credentials.json": credentialsText("b") });
    const result = await setup(world, ["true"], { readOnly: [world.store] });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^claudeauth: error: cannot use the store at ${world.store}: EROFS: read-only file system, .*; mount it read-write`));
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(snapshotTree(world.store)).toEqual(world.before);
    expect(currentCredentialsText(world.store)).toBe(world.a);
  });
});
