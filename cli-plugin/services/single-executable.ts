import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../core/errors";
import { assetFiles } from "../engine/assets";

// A single executable of the npm package's plugin, made on the user's machine from the Node
// that runs install, by the recipe scripts/build.mjs follows for Linux: blob (this Node) →
// inject (postject's API, which the package carries in lib/postject) into a copy of this Node. Docker on Windows
// runs plugins named docker-NAME.exe only (cli-plugins/manager: trimExeSuffix), so a launcher
// script will not do there, and this needs no compiler. The blob carries the bundle and what
// `build` reads, like the Linux single executable. Official Node builds (20.12 and later, for
// the assets) carry the SEA fuse; the copy's Authenticode signature no longer matches, which
// Windows tolerates for a file made locally (it is not marked as downloaded).

// Spelled in two parts: postject refuses a binary in which the fuse appears twice, and this
// bundle is itself inside the Linux single executable.
const SENTINEL = ["NODE_SEA_FUSE", "fce680ab2cc467b6e072b8b5df1996b2"].join("_");

/** Writes a single executable of `bundle` (the package's lib/docker-claudeauth.cjs) to `output`. */
export async function makeSingleExecutable(bundle: string, output: string): Promise<void> {
  if (process.platform === "darwin") {
    throw new UserError("--single-executable is not for macOS (a changed Node binary must be re-signed there): install writes a launcher instead; drop the option");
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "docker-claudeauth-sea-"));
  try {
    const blob = path.join(work, "plugin.blob");
    const config = path.join(work, "sea-config.json");
    fs.writeFileSync(config, JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true, // made by the Node it runs on, so its code cache fits
      execArgvExtension: "none", // a user's NODE_OPTIONS must not reach the plugin (Node versions that know the setting)
      assets: assetFiles(),
    }));
    try {
      execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      throw new UserError(`this Node (${process.version}) cannot make a single executable: ${firstLine(error)}; use Node 22 from nodejs.org`);
    }
    fs.copyFileSync(process.execPath, output);
    await quietly(() => {
      const { inject } = createRequire(bundle)("./postject/api.js") as { inject: (file: string, name: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void> };
      return inject(output, "NODE_SEA_BLOB", fs.readFileSync(blob), { sentinelFuse: SENTINEL });
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function firstLine(error: unknown): string {
  const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
  return (stderr || (error as Error).message).split("\n").find((line) => !/ExperimentalWarning|--trace-warnings/.test(line)) ?? "failed";
}

/**
 * postject's LIEF (wasm) binds console.warn when it loads and warns about every .note section
 * of a Linux Node; those say nothing about the result, so only they are dropped.
 */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!/Can't find string offset for section name/.test(String(args[0]))) warn(...args);
  };
  try {
    return await work();
  } finally {
    console.warn = warn;
  }
}
