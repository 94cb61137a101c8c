import fs from "node:fs";
import path from "node:path";
import { ensureTestUser } from "./test-user";

// Runs once before the test files. The tests run the compiled binaries: fail early, with
// the fix, when they are missing. CI starts on a fresh machine: create the unprivileged
// test user the entrypoint tests drop to (idempotent; a no-op when not root).
export default function setup(): void {
  const root = path.resolve(__dirname, "../..");
  for (const name of ["claudeauth-entrypoint", "docker-claudeauth"]) {
    if (!fs.existsSync(path.join(root, "dist", name))) {
      throw new Error(`dist/${name} is missing: run "npm run build" first (npm test does it for you)`);
    }
  }
  ensureTestUser();
}
