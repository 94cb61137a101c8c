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
  if (built.size === 0) {
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    removeOrphans();
  }
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

/** Worker dirs of test processes that were killed before they could remove theirs. */
function removeOrphans(): void {
  const cache = path.dirname(dir);
  for (const name of fs.existsSync(cache) ? fs.readdirSync(cache) : []) {
    const pid = Number(/^test-workers-(\d+)$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      fs.rmSync(path.join(cache, name), { recursive: true, force: true });
    }
  }
}
