#!/usr/bin/env node
// Builds both single executables with Node's SEA, for linux-x64 and linux-arm64: bundle
// (esbuild) → blob (Node 22) → inject (postject) into a stripped copy of that architecture's
// Node 22 binary. Offline after the first build, no pkg.
//
//   dist/claudeauth-entrypoint, dist/docker-claudeauth                     linux-x64
//   dist/claudeauth-entrypoint-linux-arm64, dist/docker-claudeauth-linux-arm64   linux-arm64
// Where each Node comes from: scripts/node-binary.mjs.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { nodeBinary } from "./node-binary.mjs";

// postject's LIEF (compiled to wasm) binds console.warn when it loads and warns about every
// one of Node's .note sections on every build ("Can't find string offset for section name
// '.note.100'"); the warnings say nothing about the result, so only those are dropped.
const warn = console.warn;
console.warn = (...args) => {
  if (!/Can't find string offset for section name '\.note/.test(String(args[0]))) warn(...args);
};
const { inject } = await import("postject");

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const work = path.join(dist, ".sea");
const node22 = nodeBinary("amd64");
const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version;
const SENTINEL = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

// Docker's architecture names. The blob's code cache is V8 state of the machine that makes it
// (x64 here), so the arm64 build goes without (it compiles at start). A V8 startup snapshot of
// the entrypoint was measured against the code cache and lost: same CPU time, 60% more pages
// touched at start, which a cold container pays for (BENCHMARKS.md, "Start overhead").
const TARGETS = [
  { arch: "amd64", suffix: "", strip: "strip", codeCache: true },
  { arch: "arm64", suffix: "-linux-arm64", strip: "aarch64-linux-gnu-strip", codeCache: false },
];

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
    // ESM packages (yargs) read import.meta.url when they load; a CommonJS bundle has none, so
    // it is the bundle's own file URL (the executable's path inside a single executable).
    define: { "process.env.CLAUDEAUTH_VERSION": JSON.stringify(version), "import.meta.url": "__bundleUrl" },
    banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: "warning",
  });
  return outfile;
}

// Stripping must happen before injection: stripping an injected binary corrupts the blob.
// Without a strip for the architecture (binutils-aarch64-linux-gnu), the copy stays as it is.
const stripped = new Map();
function strippedNodeCopy(target) {
  if (!stripped.has(target.arch)) {
    const copy = path.join(work, `node-${target.arch}`);
    fs.copyFileSync(nodeBinary(target.arch), copy);
    // strip warns about Node's .note sections on every build; its output matters only on failure.
    const result = spawnSync(target.strip, [copy], { encoding: "utf8" });
    if (result.error?.code === "ENOENT") console.log(`${target.strip} not found: the ${target.arch} Node copy is not stripped`);
    else if (result.status !== 0) throw new Error(`${target.strip} failed: ${result.stderr || result.error}`);
    stripped.set(target.arch, copy);
  }
  return stripped.get(target.arch);
}

async function singleExecutable(name, target, main, { assets = {} } = {}) {
  const blob = path.join(work, `${name}${target.suffix}.blob`);
  const config = path.join(work, `${name}${target.suffix}.sea.json`);
  fs.writeFileSync(config, JSON.stringify({
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: target.codeCache,
    execArgvExtension: "none", // a user's NODE_OPTIONS must not reach our binaries
    assets,
  }));
  // Node warns that SEA is experimental while it makes the blob; other output is news.
  const made = spawnSync(node22, ["--experimental-sea-config", config], { encoding: "utf8" });
  const news = made.stderr.split("\n").filter((line) => line && !/ExperimentalWarning: Single executable|--trace-warnings/.test(line));
  if (made.status !== 0 || news.length) console.error(news.join("\n"));
  if (made.status !== 0) throw new Error(`node --experimental-sea-config ${config} failed`);
  const out = path.join(dist, `${name}${target.suffix}`);
  fs.rmSync(out, { force: true });
  fs.copyFileSync(strippedNodeCopy(target), out);
  await inject(out, "NODE_SEA_BLOB", fs.readFileSync(blob), { sentinelFuse: SENTINEL });
  fs.chmodSync(out, 0o755);
  return out;
}

const started = Date.now();
const entrypointMain = await bundle("entrypoint/main.ts", "entrypoint");
const pluginMain = await bundle("cli-plugin/main.ts", "plugin");

// The plugin carries what `docker claudeauth build` needs, so an installed plugin builds the
// images without a checkout: the Dockerfiles and the entrypoint for each architecture.
const assets = {};
for (const target of TARGETS) {
  const entrypoint = await singleExecutable("claudeauth-entrypoint", target, entrypointMain);
  const gz = path.join(work, `claudeauth-entrypoint-${target.arch}.gz`);
  fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(entrypoint), { level: 6 }));
  assets[path.basename(gz)] = gz;
}
for (const file of fs.readdirSync(path.join(root, "docker"))) {
  if (file.startsWith("Dockerfile")) assets[file] = path.join(root, "docker", file);
}
for (const target of TARGETS) await singleExecutable("docker-claudeauth", target, pluginMain, { assets });

// The npm package for hosts without a single executable of ours (macOS, Windows): the same
// plugin bundle run on the host's Node, with the files `build` reads beside it (assets.ts looks
// for them next to the bundle's parent directory). `npm pack dist/npm` makes the tarball.
const npmDir = path.join(dist, "npm");
fs.rmSync(npmDir, { recursive: true, force: true });
fs.mkdirSync(path.join(npmDir, "lib"), { recursive: true });
fs.writeFileSync(path.join(npmDir, "lib/docker-claudeauth.cjs"), `#!/usr/bin/env node\n${fs.readFileSync(pluginMain, "utf8")}`, { mode: 0o755 });
// postject's API (one self-contained file, MIT, its licence beside it) travels in the package:
// `install` on Windows makes docker-claudeauth.exe with it (cli-plugin/services/single-executable.ts),
// offline, with no dependency to resolve.
fs.mkdirSync(path.join(npmDir, "lib/postject"));
for (const file of ["dist/api.js", "LICENSE"]) fs.copyFileSync(path.join(root, "node_modules/postject", file), path.join(npmDir, "lib/postject", path.basename(file)));
for (const [name, file] of Object.entries(assets)) {
  const target = path.join(npmDir, name.endsWith(".gz") ? "dist/.sea" : "docker", name);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(file, target);
}
fs.writeFileSync(path.join(npmDir, "package.json"), JSON.stringify({
  name: "docker-claudeauth",
  version,
  description: "Docker CLI plugin: log in to the Claude CLI once, run it in any number of containers",
  license: "MIT",
  engines: { node: ">=20" },
  bin: { "docker-claudeauth": "lib/docker-claudeauth.cjs" },
  files: ["lib", "docker", "dist"],
}, null, 2) + "\n");

for (const target of TARGETS) {
  for (const name of ["claudeauth-entrypoint", "docker-claudeauth"]) {
    const size = fs.statSync(path.join(dist, `${name}${target.suffix}`)).size;
    console.log(`built dist/${name}${target.suffix} (${target.arch}, ${(size / 1048576).toFixed(1)} MiB)`);
  }
}
console.log(`build took ${((Date.now() - started) / 1000).toFixed(1)}s`);
