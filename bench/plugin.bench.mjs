#!/usr/bin/env node
// How fast the plugin answers what Docker asks it most often, against the docker CLI's own
// cheapest call, in the same run (interleaved, so both see the same machine load):
//   docker-claudeauth docker-cli-plugin-metadata   (before every plugin call, docker --help, completion)
//   docker-claudeauth status                       (host-dir store, no container: for monitors)
//   docker claudeauth status                       (the same through the docker CLI)
//   docker version --format '{{.Client.Version}}'  (the reference)
// Prints a table and writes it into BENCHMARKS.md (section "Plugin start-up").
//   node bench/plugin.bench.mjs [runs]        (default 30 per command)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pluginBinary = path.join(root, "dist/docker-claudeauth");
const runs = Number(process.argv[2] ?? 30);
if (!fs.existsSync(pluginBinary)) {
  console.error("dist/docker-claudeauth is missing: run npm run build first");
  process.exit(1);
}

// A sandbox: a HOME with one host-dir store holding a capture, and a DOCKER_CONFIG with the plugin.
const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-bench-"));
const home = path.join(sandbox, "home");
const dockerConfig = path.join(sandbox, "docker-config");
fs.mkdirSync(path.join(dockerConfig, "cli-plugins"), { recursive: true });
fs.copyFileSync(pluginBinary, path.join(dockerConfig, "cli-plugins/docker-claudeauth"));
fs.chmodSync(path.join(dockerConfig, "cli-plugins/docker-claudeauth"), 0o755);
fs.writeFileSync(path.join(dockerConfig, "config.json"), "{}\n");
const capture = path.join(home, ".claude-hub/default/captures/00000001");
fs.mkdirSync(capture, { recursive: true, mode: 0o700 });
for (const dir of [path.join(home, ".claude-hub"), path.join(home, ".claude-hub/default"), path.dirname(capture)]) fs.chmodSync(dir, 0o700);
const random = (n) => Array.from({ length: n }, () => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(Math.random() * 62)]).join("");
const files = {
  ".credentials.json": JSON.stringify({
    claudeAiOauth: {
      accessToken: `sk-ant-oat01-bench-${random(60)}`,
      refreshToken: `sk-ant-ort01-bench-${random(60)}`,
      expiresAt: Date.now() + 8 * 3600_000,
      scopes: ["user:inference", "user:profile"],
      subscriptionType: "max",
    },
  }),
  ".claude.json": JSON.stringify({ hasCompletedOnboarding: true, oauthAccount: { emailAddress: "bench@example.com" } }),
  "claudeauth.json": JSON.stringify({ schema: 1, capturedAt: new Date().toISOString(), source: "setup", mode: "oauth" }),
};
for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(capture, name), text, { mode: 0o600 });

const env = { ...process.env, HOME: home, DOCKER_CONFIG: dockerConfig };
delete env.CLAUDE_HUB_DIR;
const commands = [
  { name: "docker-claudeauth docker-cli-plugin-metadata", argv: [pluginBinary, "docker-cli-plugin-metadata"] },
  { name: "docker-claudeauth status (host dir)", argv: [pluginBinary, "status"] },
  { name: "docker claudeauth status (via docker CLI)", argv: ["docker", "claudeauth", "status"] },
  { name: "docker version --format '{{.Client.Version}}'", argv: ["docker", "version", "--format", "{{.Client.Version}}"] },
];

function once(argv) {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(" ")} exited ${result.status}: ${result.stderr}`);
  return ms;
}

try {
  for (const command of commands) once(command.argv); // warm the page cache
  const samples = commands.map(() => []);
  for (let i = 0; i < runs; i++) commands.forEach((command, j) => samples[j].push(once(command.argv)));
  const stats = samples.map((values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return { median: pick(0.5), p90: pick(0.9), min: sorted[0] };
  });
  const reference = stats[stats.length - 1].median;
  const rows = commands.map((command, i) => [
    command.name,
    stats[i].median.toFixed(1),
    stats[i].p90.toFixed(1),
    stats[i].min.toFixed(1),
    (stats[i].median / reference).toFixed(2),
  ]);
  const header = ["command", "median ms", "p90 ms", "min ms", "× docker version"];
  const table = [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
  const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const machine = `${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? "unknown CPU"}, load ${os.loadavg()[0].toFixed(2)}`;
  const section = [
    "## Plugin start-up (bench/plugin.bench.mjs)",
    "",
    `${runs} runs of each, interleaved, ${when}; ${machine}; dist/docker-claudeauth ${(fs.statSync(pluginBinary).size / 1048576).toFixed(0)} MiB (Node 22 SEA).`,
    "`docker-cli-plugin-metadata` runs before every plugin call, on `docker --help`, `docker info` and completion;",
    "`status` reads a host-dir store without a container. The last column is the ratio of medians to `docker version`.",
    "",
    table,
    "",
  ].join("\n");
  console.log(section);

  const file = path.join(root, "BENCHMARKS.md");
  const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const start = existing.indexOf("## Plugin start-up (bench/plugin.bench.mjs)");
  let updated;
  if (start === -1) updated = `${existing.trimEnd()}\n\n${section}`;
  else {
    const next = existing.indexOf("\n## ", start + 1);
    updated = existing.slice(0, start) + section + (next === -1 ? "" : existing.slice(next + 1));
  }
  fs.writeFileSync(file, updated.endsWith("\n") ? updated : `${updated}\n`);
  console.log(`(written to ${path.relative(process.cwd(), file) || file})`);
} finally {
  fs.rmSync(sandbox, { recursive: true, force: true });
}
