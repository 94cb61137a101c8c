import fs from "node:fs";
import path from "node:path";

// The tests run the compiled binaries: fail early, with the fix, when they are missing.
export default function setup(): void {
  const root = path.resolve(__dirname, "../..");
  for (const name of ["claudeauth-entrypoint", "docker-claudeauth"]) {
    if (!fs.existsSync(path.join(root, "dist", name))) {
      throw new Error(`dist/${name} is missing: run "npm run build" first (npm test does it for you)`);
    }
  }
}
