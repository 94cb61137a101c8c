import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ensureTestUser } from "./test-user";
import { filesWithTokenShapes } from "./token-scan";

declare module "vitest" {
  export interface ProvidedContext {
    /** A private snapshot of dist/ for this run (see snapshotBinaries). */
    claudeauthBin: string;
  }
}

// Runs once before the test files. The tests run the compiled binaries: fail early, with
// the fix, when they are missing. CI starts on a fresh machine: create the unprivileged
// test user the entrypoint tests drop to (idempotent; a no-op when not root).
// The run gets a temp directory of its own (TMPDIR, inherited by the test workers and what
// they start); when the run ends, no file in it may hold a token: every test removes the
// working copies and stores it made, killed runs included.
export default function setup(project: TestProject): () => void {
  const root = path.resolve(__dirname, "../..");
  for (const name of ["claudeauth-entrypoint", "docker-claudeauth"]) {
    if (!fs.existsSync(path.join(root, "dist", name))) {
      throw new Error(`dist/${name} is missing: run "npm run build" first (npm test does it for you)`);
    }
  }
  ensureTestUser();
  const bin = snapshotBinaries(root);
  project.provide("claudeauthBin", bin);
  const tmp = privateTempDir();
  return () => {
    fs.rmSync(bin, { recursive: true, force: true });
    const holding = filesWithTokenShapes(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
    if (holding.length) throw new Error(`${holding.length} file(s) left in the temp directory hold a token:\n${holding.join("\n")}`);
  };
}

/** A temp directory for this run (sticky and world-writable, like /tmp), made the TMPDIR of everything after. */
function privateTempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-run-"));
  fs.chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return dir;
}

/**
 * Hard links to the binaries as they are now, so that a `npm run build` during the run
 * (which replaces dist/ files by new inodes) cannot hand a test a half-written binary.
 * A binary that does not answer (a build was writing it) is linked again after a pause.
 */
function snapshotBinaries(root: string): string {
  const bin = path.join(root, ".cache", `test-bin-${process.pid}`);
  fs.rmSync(bin, { recursive: true, force: true });
  fs.mkdirSync(bin, { recursive: true });
  const checks: Record<string, string> = { "claudeauth-entrypoint": "--help", "docker-claudeauth": "docker-cli-plugin-metadata" };
  const deadline = Date.now() + 120_000;
  for (const [name, arg] of Object.entries(checks)) {
    const target = path.join(bin, name);
    for (;;) {
      fs.rmSync(target, { force: true });
      try {
        fs.linkSync(path.join(root, "dist", name), target);
      } catch {
        fs.copyFileSync(path.join(root, "dist", name), target);
        fs.chmodSync(target, 0o755);
      }
      if (spawnSync(target, [arg], { stdio: "ignore", timeout: 20_000 }).status === 0) break;
      if (Date.now() > deadline) throw new Error(`dist/${name} does not run: rebuild with "npm run build"`);
      spawnSync("sleep", ["2"]);
    }
  }
  return bin;
}
