#!/usr/bin/env node
// Swarm benchmark: how long `docker claudeauth swarm secret --rotate SERVICE` takes to move a
// running one-replica service to a new secret version after the store moved on (the store read,
// a new secret, a service update that replaces the task, until the new task is healthy).
//
//   node bench/swarm.bench.mjs        (BENCH_N=3 rotations per variant)
//
// Two variants, interleaved: the service made exactly with the flags the plugin prints (health
// checks every 30 s: a task counts as running only after its first check), and the same with
// checks every 3 s and a 1 s update monitor (as test/e2e/swarm.test.ts). The swarm is the one
// scripts/swarm-engine.sh starts next to the engine of DOCKER_HOST (never put into swarm mode);
// the production image must be on that engine (npm test, or docker claudeauth build). The
// workload is `sleep`: a secret's run needs no network, so no endpoint is involved.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
const RUN_IMAGE = `claudeauth/run:${VERSION}`;
const PLUGIN = path.join(ROOT, "dist/docker-claudeauth");
const N = Number(process.env.BENCH_N ?? 3);
const PREFIX = `cabench${process.pid}`;
const TOKEN_SHAPE = /sk-ant-[a-z]{2,5}\d{0,3}-[A-Za-z0-9_-]{8,}/;
const QUICK = ["--health-interval", "3s", "--update-monitor", "1s", "--update-delay", "0s"];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (x) => `${(x / 1000).toFixed(1)} s`;

/** A command, timed; a failure or a token-shaped string in its output stops the bench. */
async function timed(file, args, env) {
  const started = performance.now();
  const result = await execa(file, args, { env, reject: false, stdin: "ignore" });
  const elapsed = performance.now() - started;
  if (TOKEN_SHAPE.test(`${result.stdout}\n${result.stderr}`)) throw new Error(`a token-shaped string appeared in the output of ${path.basename(file)} ${args[0]}`);
  if (result.exitCode !== 0) throw new Error(`${path.basename(file)} ${args.join(" ")} exited ${result.exitCode}: ${result.stderr}`);
  return { ms: elapsed, stdout: result.stdout };
}

const started = await execa("bash", [path.join(ROOT, "scripts/swarm-engine.sh"), RUN_IMAGE], { reject: false });
if (started.exitCode !== 0) throw new Error(`scripts/swarm-engine.sh failed: ${started.stderr}`);
const manager = /^manager=(.*)$/m.exec(started.stdout)[1];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-swarm-bench-"));
const env = { DOCKER_HOST: manager, HOME: scratch, PATH: process.env.PATH };
const store = path.join(scratch, "store");
const docker = (args) => timed("docker", args, env);
const plugin = (args) => timed(PLUGIN, args, env);

/** A new OAuth login into the store (setup --from, in-process for a host store): a new capture. */
let logins = 0;
async function newLogin() {
  const token = (kind) => `sk-ant-${kind}01-bench-${crypto.randomBytes(30).toString("base64url")}`;
  const file = path.join(scratch, `login-${++logins}.json`);
  const claudeAiOauth = { accessToken: token("oat"), refreshToken: token("ort"), expiresAt: Date.now() + 8 * 3_600_000, scopes: ["user:inference", "user:profile"], subscriptionType: "max" };
  fs.writeFileSync(file, JSON.stringify({ claudeAiOauth }), { mode: 0o600 });
  await plugin(["setup", "--from", file, "--store", store]);
  fs.rmSync(file);
}

/** The `docker service create` flags the plugin printed, between the command and the image. */
function printedServiceFlags(stdout) {
  const line = /docker service create --name SERVICE (.*?) claudeauth\/run:\S+ claude/.exec(stdout.replace(/\\\n\s*/g, " "));
  if (!line) throw new Error(`no docker service create line in:\n${stdout}`);
  return line[1].trim().split(/\s+/);
}

const variants = { printed: [], "3 s checks": [] };
try {
  await newLogin();
  const made = await plugin(["swarm", "secret", "--store", store, "--name", PREFIX]);
  const flags = printedServiceFlags(made.stdout);
  const services = { printed: `${PREFIX}-printed`, "3 s checks": `${PREFIX}-quick` };
  await Promise.all([
    docker(["service", "create", "--quiet", "--detach=false", "--stop-grace-period", "1s", "--name", services.printed, ...flags, RUN_IMAGE, "sleep", "3600"]),
    docker(["service", "create", "--quiet", "--detach=false", "--stop-grace-period", "1s", "--name", services["3 s checks"], ...flags, ...QUICK, RUN_IMAGE, "sleep", "3600"]),
  ]);
  for (let i = 0; i < N; i++) {
    for (const [variant, service] of Object.entries(services)) {
      await newLogin();
      const rotated = await plugin(["swarm", "secret", "--store", store, "--name", PREFIX, "--rotate", service]);
      variants[variant].push(rotated.ms);
    }
  }
  console.log(`swarm secret --rotate of a running 1-replica service, ${N} each, load ${os.loadavg()[0].toFixed(1)} at the end:`);
  for (const [variant, times] of Object.entries(variants)) console.log(`  ${variant.padEnd(11)} median ${seconds(median(times))} (${times.map(seconds).join(", ")})`);
} finally {
  const listed = await execa("docker", ["service", "ls", "--quiet", "--filter", `name=${PREFIX}`], { env, reject: false });
  const ids = listed.stdout.split("\n").filter(Boolean);
  if (ids.length) await execa("docker", ["service", "rm", ...ids], { env, reject: false });
  for (let i = 0; i < 40; i++) {
    const secrets = (await execa("docker", ["secret", "ls", "--quiet", "--filter", `name=${PREFIX}`], { env, reject: false })).stdout.split("\n").filter(Boolean);
    if (!secrets.length || (await execa("docker", ["secret", "rm", ...secrets], { env, reject: false })).exitCode === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  fs.rmSync(scratch, { recursive: true, force: true });
}
