// End to end, examples/compose.yaml with Debian's docker-compose 1.29.2: a service of the
// production image runs the real Claude CLI logged in from a store that `docker claudeauth
// setup` made, as the host user, in the workspace, under the example's hardening (read-only
// root, all capabilities dropped but the entrypoint's, no-new-privileges).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoTokens } from "../support/tokens";
import { docker, ensureImages, HOST_USER, hostUserDir, loggedInStore, removeContainers, ROOT } from "../support/images";

const hasCompose = spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0;
if (!hasCompose) console.warn("examples/compose.yaml test skipped: docker-compose is not installed (scripts/engine.sh installs it)");
const PROJECT = `cae2ecompose${process.pid}`;

let scratch = "";
let store = "";

describe.runIf(hasCompose)("examples/compose.yaml (docker-compose 1.29)", { timeout: 240_000 }, () => {
  beforeAll(async () => {
    await ensureImages();
    scratch = hostUserDir("compose");
    store = await loggedInStore(scratch, "compose");
  });

  afterAll(async () => {
    await execa("docker-compose", ["-f", path.join(ROOT, "examples/compose.yaml"), "-p", PROJECT, "down"], { reject: false, env: { HOST_UID: "0", HOST_GID: "0" } });
    if (scratch) await removeContainers([store]);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("docker-compose run: the real CLI logged in, as the host user, writing into the workspace, no network made", async () => {
    const workspace = hostUserDir("compose-workspace");
    try {
      const probe = [
        'echo "uid=$(id -u) pwd=$(pwd)"',
        "claude --version",
        "claude auth status --json",
        "echo made-by-claude > out.txt",
        "ls /var/lib/claudeauth/store >/dev/null 2>&1 && echo 'store: readable' || echo 'store: denied'",
      ].join("\n");
      const result = await execa("docker-compose", ["-f", path.join(ROOT, "examples/compose.yaml"), "-p", PROJECT, "run", "--rm", "-T", "claude", "sh", "-c", probe], {
        reject: false,
        stdin: "ignore",
        env: { CLAUDE_STORE: store, WORKSPACE: workspace, HOST_UID: String(HOST_USER.uid), HOST_GID: String(HOST_USER.gid), CLAUDEAUTH_NETWORK: "none" },
      });
      expectNoTokens({ stdout: result.stdout, stderr: result.stderr });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toContain(`uid=${HOST_USER.uid} pwd=/workspace`);
      expect(result.stdout).toMatch(/^2\.1\.197 \(Claude Code\)$/m);
      expect(result.stdout).toMatch(/"loggedIn": true/);
      expect(result.stdout).toContain('"email": "compose@example.com"');
      expect(result.stdout).toContain("store: denied");
      const written = fs.statSync(path.join(workspace, "out.txt"));
      expect([written.uid, written.gid]).toEqual([HOST_USER.uid, HOST_USER.gid]);
      // network_mode none: Compose made no network (it would have a private-range subnet).
      expect((await docker(["network", "ls", "--quiet", "--filter", `name=${PROJECT}`])).stdout.trim()).toBe("");
    } finally {
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  });
});
