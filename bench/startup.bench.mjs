#!/usr/bin/env node
// Start-up of the plugin binary against a bare start of the same Node (the stripped copy the
// single executable is made from, running an empty script), interleaved so that both see the
// same machine load. The metadata call (before every plugin call) must stay within 1.15× a bare
// start; `version` and a usage error load the command line (yargs) as well.
//   node bench/startup.bench.mjs [runs] [OTHER_PLUGIN_BINARY]
// With OTHER_PLUGIN_BINARY (an earlier build), its figures are printed beside, as ratios too.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[2] ?? 40);
const other = process.argv[3];
const plugin = path.join(root, "dist/docker-claudeauth");
const bareNode = path.join(root, "dist/.sea/node-amd64");
for (const file of [plugin, bareNode, ...(other ? [other] : [])]) {
  if (!fs.existsSync(file)) {
    console.error(`${path.relative(root, file)} is missing: run npm run build first`);
    process.exit(1);
  }
}

const binaries = [["this build", plugin], ...(other ? [[path.basename(other), other]] : [])];
const commands = [
  { name: "bare Node start (node -e '')", argv: [bareNode, "-e", ""] },
  ...binaries.flatMap(([label, binary]) => [
    { name: `${label}: docker-cli-plugin-metadata`, argv: [binary, "docker-cli-plugin-metadata"] },
    { name: `${label}: version (loads yargs)`, argv: [binary, "version"] },
  ]),
];

function once(argv) {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  if (result.status !== 0) throw new Error(`${argv.join(" ")} exited ${result.status}: ${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

for (const command of commands) once(command.argv); // warm the page cache
const samples = commands.map(() => []);
for (let i = 0; i < runs; i++) commands.forEach((command, j) => samples[j].push(once(command.argv)));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const medians = samples.map(median);
const bare = medians[0];
console.log(`${runs} runs each, interleaved; ratios are medians over the bare Node start`);
console.log("| command | median ms | × bare Node |\n| --- | --- | --- |");
commands.forEach((command, i) => console.log(`| ${command.name} | ${medians[i].toFixed(1)} | ${(medians[i] / bare).toFixed(2)} |`));
const metadataRatio = medians[1] / bare;
console.log(`metadata within 1.15× a bare Node start: ${metadataRatio <= 1.15 ? "yes" : "NO"} (${metadataRatio.toFixed(2)})`);
process.exitCode = metadataRatio <= 1.15 ? 0 : 1;
