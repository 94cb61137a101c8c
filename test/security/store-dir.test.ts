// Attack 6 of issue 8: `setup --store DIR` took over any directory. The entrypoint makes
// the store root 0700 and owned by the store owner, so as root `--store /` chmodded `/` to
// 0700, and as a user a shared 1777 or someone else's directory became the user's. Now a
// store directory is a new one, an empty one of the user's, or an existing store; anything
// else is refused with one line and left exactly as it was (mode, owner, contents), on
// both setup paths: the login container and --token-stdin (no container).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeJsonText, credentialsText, loginScript } from "../support/fixtures";
import { docker, ensureImages, HOST_USER, makeSandbox, plugin, PLUGIN, RUN_IMAGE, scriptsDir, writeScript, type PluginRun, type Sandbox } from "../support/docker";

const AS_ROOT = process.getuid?.() === 0;
const USER = AS_ROOT ? HOST_USER : { uid: process.getuid!(), gid: process.getgid!() };
const TOKEN = `sk-ant-oat01-${"S".repeat(60)}`;
let sandbox: Sandbox;
let scripts: string;

beforeAll(async () => {
  await ensureImages();
  sandbox = makeSandbox("store-dir", { user: USER });
  scripts = scriptsDir(sandbox);
  writeScript(scripts, "login.sh", loginScript({ credentials: credentialsText("store-dir"), claudeJson: claudeJsonText("store-dir@example.com") }));
});

afterAll(async () => {
  await sandbox?.cleanup();
});

/** Mode, owner and every entry below `dir` (with theirs): what "left as it was" means. */
function describeTree(dir: string): string[] {
  const describe = (file: string, relative: string) => {
    const stat = fs.lstatSync(file);
    return `${relative} ${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid} ${stat.isDirectory() ? "dir" : stat.size}`;
  };
  const lines = [describe(dir, ".")];
  const walk = (relative: string) => {
    for (const name of fs.readdirSync(path.join(dir, relative)).sort()) {
      const child = path.join(relative, name);
      lines.push(describe(path.join(dir, child), child));
      if (fs.lstatSync(path.join(dir, child)).isDirectory()) walk(child);
    }
  };
  walk(".");
  return lines;
}

function setupVia(how: "login" | "token-stdin", dir: string): Promise<PluginRun> {
  return how === "login"
    ? plugin(sandbox, ["setup", "--store", dir, "--no-tty", "--network", "none", "-v", `${scripts}:/scripts:ro`, "--", "/scripts/login.sh"])
    : plugin(sandbox, ["setup", "--store", dir, "--token-stdin"], { input: `${TOKEN}\n` });
}

function expectRefusedAndUnchanged(run: PluginRun, dir: string, before: string[], why: RegExp): void {
  expect(run.exitCode, run.output).toBe(125);
  expect(run.stderr.trim().split("\n"), run.stderr).toHaveLength(1);
  expect(run.stderr).toMatch(new RegExp(`^error: refusing to use ${dir} as a store: ${why.source}; pass --store with a new or empty directory of yours \\(it is left as it was\\)$`, "m"));
  expect(describeTree(dir)).toEqual(before);
}

/** A fresh directory in the sandbox with this mode and owner, and these files of its owner. */
function makeDir(name: string, mode: number, owner: { uid: number; gid: number }, files: string[] = []): string {
  const dir = path.join(sandbox.dir, name);
  fs.mkdirSync(dir);
  for (const file of files) fs.writeFileSync(path.join(dir, file), `${file}\n`);
  for (const entry of [dir, ...files.map((f) => path.join(dir, f))]) fs.chownSync(entry, owner.uid, owner.gid);
  fs.chmodSync(dir, mode);
  return dir;
}

describe("a directory that is not the user's to give is refused and left as it was", () => {
  it("a shared 1777 directory (like /tmp), even when empty and the user's own", async () => {
    for (const how of ["login", "token-stdin"] as const) {
      const dir = makeDir(`shared-${how}`, 0o1777, USER);
      const before = describeTree(dir);
      expectRefusedAndUnchanged(await setupVia(how, dir), dir, before, /it is a shared directory \(sticky bit, like \/tmp\)/);
    }
  });

  it.runIf(AS_ROOT)("a directory that belongs to someone else (empty, 0755)", async () => {
    for (const how of ["login", "token-stdin"] as const) {
      const dir = makeDir(`foreign-${how}`, 0o755, { uid: 4242, gid: 4242 });
      const before = describeTree(dir);
      expectRefusedAndUnchanged(await setupVia(how, dir), dir, before, new RegExp(`it belongs to uid 4242, not to you \\(uid ${USER.uid}\\)`));
    }
  });

  it("a non-empty directory of the user's that is not a store (a project)", async () => {
    for (const how of ["login", "token-stdin"] as const) {
      const dir = makeDir(`project-${how}`, 0o755, USER, ["README.md", "main.c"]);
      const before = describeTree(dir);
      expectRefusedAndUnchanged(await setupVia(how, dir), dir, before, /it holds other files \(2 entries\) and no captures\//);
    }
  });

  it("a Docker volume the plugin did not create, holding other data", async () => {
    const volume = `claudeauth-test-data-${process.pid}`;
    const list = () => docker(["run", "--rm", "--network", "none", "-v", `${volume}:/d:ro`, "--entrypoint", "sh", RUN_IMAGE, "-c", "cd /d && find . | sort | xargs stat -c '%n %a %u:%g %s'"]);
    try {
      await docker(["run", "--rm", "--network", "none", "-v", `${volume}:/d`, "--entrypoint", "sh", RUN_IMAGE, "-c", "echo data > /d/table.db && mkdir /d/logs && chmod 0755 /d"]);
      const before = (await list()).stdout;
      expect(before).toContain("./table.db");
      for (const args of [["--token-stdin"], ["--no-tty", "--network", "none", "-v", `${scripts}:/scripts:ro`, "--", "/scripts/login.sh"]]) {
        const run = await plugin(sandbox, ["setup", "--store-volume", volume, ...args], { input: `${TOKEN}\n` });
        expect(run.exitCode, run.output).toBe(125);
        expect(run.stderr).toMatch(new RegExp(`^error: refusing to use volume ${volume} as a store: it holds other files \\(2 entries\\) and no captures/; pick a new volume name with --store-volume \\(it is left as it was\\)$`, "m"));
        expect((await list()).stdout).toBe(before);
      }
    } finally {
      await docker(["volume", "rm", "-f", volume]);
    }
  });

  it.runIf(AS_ROOT && spawnSync("sh", ["-c", "command -v unshare && command -v chroot"]).status === 0)(
    "as root, --store / (in a chroot of its own, so that the real / is never at stake)",
    () => {
      // A private mount namespace: the host's /usr, /lib... bound read-only under a fresh
      // root, where the plugin runs chrooted; that root is the `/` it is asked to take.
      const root = fs.mkdtempSync(path.join(sandbox.dir, "chroot-"));
      fs.chmodSync(root, 0o755);
      for (const dir of ["usr", "lib", "lib64", "bin", "etc", "dev", "proc", "plugin"]) fs.mkdirSync(path.join(root, dir));
      fs.copyFileSync(PLUGIN, path.join(root, "plugin", "docker-claudeauth"));
      fs.chmodSync(path.join(root, "plugin", "docker-claudeauth"), 0o755);
      const before = describeTree(root).filter((line) => !line.startsWith("plugin/"));
      const script = [
        "set -e",
        `for d in usr lib lib64 bin etc dev; do if [ -e "/$d" ]; then mount --rbind "/$d" "${root}/$d"; mount -o remount,bind,ro "${root}/$d"; fi; done`,
        `mount -t proc proc "${root}/proc"`,
        `HOME=/ chroot "${root}" /plugin/docker-claudeauth setup --store / --token-stdin`,
      ].join("\n");
      const result = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], { input: `${TOKEN}\n`, encoding: "utf8", timeout: 60_000 });
      expect(result.status, result.stderr).toBe(125);
      expect(result.stderr).toMatch(/^error: refusing to use \/ as a store: it holds other files \(\d+ entries\) and no captures\/; pass --store/);
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
      expect(describeTree(root).filter((line) => !line.startsWith("plugin/"))).toEqual(before);
    },
  );
});

describe("what a store directory may be", () => {
  it("a new directory (created 0700 with its parents), an empty one of the user's (made 0700), an existing store (reused)", async () => {
    const fresh = path.join(sandbox.dir, "new-parent", "store");
    fs.mkdirSync(path.dirname(fresh));
    fs.chownSync(path.dirname(fresh), USER.uid, USER.gid);
    const empty = makeDir("empty", 0o755, USER);
    for (const dir of [fresh, empty]) {
      const run = await setupVia("token-stdin", dir);
      expect(run.exitCode, run.output).toBe(0);
      const stat = fs.statSync(dir);
      expect([stat.mode & 0o7777, stat.uid, stat.gid], dir).toEqual([0o700, USER.uid, USER.gid]);
      expect(fs.readdirSync(path.join(dir, "captures"))).toEqual(["00000001"]);
    }
    const again = await setupVia("login", fresh);
    expect(again.exitCode, again.output).toBe(0);
    // The login is captured when its credentials appear and again at its exit: one or two captures more.
    expect(fs.readdirSync(path.join(fresh, "captures")).length).toBeGreaterThan(1);
  });
});
