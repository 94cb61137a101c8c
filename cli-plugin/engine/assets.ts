import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import sea from "node:sea";
import { UserError } from "../../core/errors";

// What `docker claudeauth build` needs travels inside the plugin binary (SEA assets, see
// scripts/build.mjs): the Dockerfiles and the gzipped entrypoint for each architecture. Run
// unbundled (tests, development), the same files come from the checkout.

export const DOCKERFILES = { setup: "Dockerfile.claude-setup", run: "Dockerfile", entrypoint: "Dockerfile.entrypoint" } as const;
/** Docker's names for the architectures the entrypoint is built for. */
export const ARCHITECTURES = ["amd64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
const entrypointAsset = (arch: Architecture) => `claudeauth-entrypoint-${arch}.gz`;

function inSea(): boolean {
  try {
    return sea.isSea();
  } catch {
    return false;
  }
}

function checkoutRoot(): string {
  // The bundle sits in dist/, the source in cli-plugin/engine/: the checkout is where package.json is.
  if (process.env.CLAUDEAUTH_CHECKOUT) return process.env.CLAUDEAUTH_CHECKOUT;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

function readAsset(name: string): Buffer {
  if (inSea()) {
    try {
      return Buffer.from(sea.getAsset(name));
    } catch {
      throw new UserError(`this docker-claudeauth binary carries no ${name}: rebuild it with "npm run build"`);
    }
  }
  return fs.readFileSync(assetFile(name));
}

/** Where an asset is in the checkout (or the npm package, laid out the same way). */
function assetFile(name: string): string {
  const file = name.endsWith(".gz") ? path.join(checkoutRoot(), "dist/.sea", name) : path.join(checkoutRoot(), "docker", name);
  if (!fs.existsSync(file)) throw new UserError(`${name} not found (looked in ${file}): run "npm run build" first`);
  return file;
}

/** Every asset by name with its file, for a single executable made outside the build (install). */
export function assetFiles(): Record<string, string> {
  const names = [...Object.values(DOCKERFILES), ...ARCHITECTURES.map(entrypointAsset)];
  return Object.fromEntries(names.map((name) => [name, assetFile(name)]));
}

export function dockerfile(kind: keyof typeof DOCKERFILES): Buffer {
  return readAsset(DOCKERFILES[kind]);
}

export function entrypointBinary(arch: Architecture): Buffer {
  return zlib.gunzipSync(readAsset(entrypointAsset(arch)));
}

/** The Claude Code version the Dockerfile installs by default (its ARG line). */
export function defaultClaudeCodeVersion(): string | null {
  try {
    const match = /ARG CLAUDE_CODE_VERSION=(\S+)/.exec(dockerfile("run").toString("utf8"));
    return match ? match[1]! : null;
  } catch {
    return null;
  }
}
