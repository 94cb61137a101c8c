import fs from "node:fs";
import path from "node:path";
import { buildSync } from "esbuild";

// Some core properties only show across processes (a lock, a reader racing a writer).
// Such a test bundles a small worker from test/support/workers/ with esbuild and runs it
// with this machine's node.
const built = new Map<string, string>();
const dir = path.resolve(__dirname, "../../.cache", `test-workers-${process.pid}`);

export function bundleWorker(name: string): string {
  const cached = built.get(name);
  if (cached && fs.existsSync(cached)) return cached;
  if (built.size === 0) process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const outfile = path.join(dir, `${name}.cjs`);
  buildSync({
    entryPoints: [path.join(__dirname, "workers", `${name}.ts`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "error",
  });
  built.set(name, outfile);
  return outfile;
}
