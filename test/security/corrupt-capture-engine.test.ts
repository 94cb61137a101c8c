import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, ensureImages, makeSandbox, plugin, RUN_IMAGE, testVolume, type Sandbox } from "../support/docker";
import { STACK_TRACE } from "./support";

// Attack 9 on the real engine with the real images: a volume store whose newest capture
// no longer reads. `docker claudeauth run` falls back to the capture before it (one
// warning, the workload authenticated), `status` calls the store invalid and names the fix.

let sandbox: Sandbox;
beforeAll(async () => {
  await ensureImages();
  sandbox = makeSandbox("security");
});
afterAll(async () => {
  await sandbox?.cleanup();
});

describe("attack 9 on the engine: a volume store whose newest capture is broken", () => {
  it("run falls back with one warning and the workload is authenticated; status names the broken capture", async () => {
    const volume = testVolume("corrupt");
    for (const label of ["older", "newer"]) {
      const stored = await plugin(sandbox, ["setup", "--profile", "corrupt", "--store-volume", volume, "--token-stdin"], {
        input: `sk-ant-oat01-${label}securitytest-${"x".repeat(40)}AA\n`,
      });
      expect(stored.exitCode, stored.output).toBe(0);
    }
    // The newest capture's token file is emptied (a disk error, a crash of another tool).
    const broken = await docker(["run", "--rm", "--network", "none", "-v", `${volume}:/store`, "--entrypoint", "/bin/sh", RUN_IMAGE, "-c", ": > /store/captures/00000002/oauth-token"]);
    expect(broken.exitCode, broken.output).toBe(0);

    const ran = await plugin(sandbox, ["run", "--profile", "corrupt", "--store-volume", volume, "--network", "none", "--no-workspace", "--", "sh", "-c", 'echo "token:${CLAUDE_CODE_OAUTH_TOKEN:+present}"']);
    expect(ran.exitCode, ran.output).toBe(0);
    expect(ran.stdout).toContain("token:present");
    expect(ran.output).not.toMatch(STACK_TRACE);
    expect(ran.stderr).toMatch(/capture 2 is unusable \(the capture holds no credentials.*using the earlier capture 1/);

    const status = await plugin(sandbox, ["status", "--profile", "corrupt", "--store-volume", volume]);
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toMatch(/problem: the current capture \(2\) is unusable: it holds no credentials.*runs fall back to capture 1/);
    expect(status.stdout).toMatch(/fix: docker claudeauth setup --profile corrupt --store-volume /);
  });
});
