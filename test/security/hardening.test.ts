// Attack 11 of issue 8: no hardening. Every container the plugin starts now keeps only the
// capabilities the entrypoint needs, runs with no-new-privileges, a pids limit, a read-only
// root and sized tmpfs mounts; --no-harden takes it all off, --cap-add adds to it. The
// workload (as an ordinary host user, through the real docker CLI) cannot use a setuid-root
// program to read the store or chown a root file, and the image's root filesystem is not
// writable; the real Claude CLI still runs.
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCredentials } from "../support/fixtures";
import { sha256, TOKEN_HASHES } from "../support/images";
import { seedHubStore } from "./support";
import { docker, dockerPlugin, ensureImages, HOST_USER, makeSandbox, plugin, RUN_IMAGE, scriptsDir, spawnAs, writeScript, type Sandbox } from "../support/docker";

const USER = process.getuid?.() === 0 ? HOST_USER : { uid: process.getuid!(), gid: process.getgid!() };
const KEPT = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"];
// Bits 0 CHOWN, 1 DAC_OVERRIDE, 3 FOWNER, 5 KILL, 6 SETGID, 7 SETUID.
const KEPT_MASK = "00000000000000eb";

let sandbox: Sandbox;
let refreshToken: string;

beforeAll(async () => {
  await ensureImages();
  sandbox = makeSandbox("hardening", { user: USER });
  const credentials = makeCredentials("hardening");
  refreshToken = credentials.claudeAiOauth.refreshToken!;
  await seedHubStore(sandbox, USER, credentials, "hardening@example.com");
});

afterAll(async () => {
  await sandbox?.cleanup();
});

type HostConfig = { CapDrop: string[] | null; CapAdd: string[] | null; SecurityOpt: string[] | null; PidsLimit: number | null; ReadonlyRootfs: boolean; Tmpfs: Record<string, string> | null };

/** docker inspect's HostConfig of a `docker claudeauth run` container, caught while it runs. */
async function inspectRun(extra: string[]): Promise<HostConfig> {
  const name = `claudeauth-hardening-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const child = spawnAs(sandbox, ["docker", "claudeauth", "run", "--network", "none", "--no-workspace", "--name", name, ...extra, "--", "sleep", "3"]);
  let config: HostConfig | null = null;
  for (let i = 0; i < 150 && !config; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const result = await docker(["inspect", "--format", "{{json .HostConfig}}", name]);
    if (result.exitCode === 0) config = JSON.parse(result.stdout) as HostConfig;
  }
  const result = await child;
  expect(result.exitCode, String(result.all)).toBe(0);
  expect(config, `container ${name} was never seen running`).not.toBeNull();
  return config!;
}

describe("docker inspect of a run container", () => {
  it("shows the hardening: CapDrop ALL, the entrypoint's six capabilities, no-new-privileges, a pids limit, a read-only root, sized tmpfs", async () => {
    const config = await inspectRun([]);
    expect(config.CapDrop).toEqual(["ALL"]);
    expect([...(config.CapAdd ?? [])].sort()).toEqual(KEPT);
    expect(config.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(config.PidsLimit).toBe(1024);
    expect(config.ReadonlyRootfs).toBe(true);
    expect(Object.keys(config.Tmpfs ?? {}).sort()).toEqual(["/home/claude", "/run/claudeauth", "/tmp"]);
    for (const options of Object.values(config.Tmpfs ?? {})) expect(options).toMatch(/(^|,)size=\d+[kmg]/);
  });

  it("--cap-add adds to the kept set; --no-harden takes the hardening off (the working copy's tmpfs stays)", async () => {
    const added = await inspectRun(["--cap-add", "NET_RAW"]);
    expect(added.CapAdd).toContain("CAP_NET_RAW");
    expect(added.CapDrop).toEqual(["ALL"]);
    const off = await inspectRun(["--no-harden"]);
    expect(off.CapDrop ?? []).toEqual([]);
    expect(off.SecurityOpt ?? []).toEqual([]);
    expect(off.ReadonlyRootfs).toBe(false);
    expect(off.PidsLimit ?? 0).toBeLessThanOrEqual(0);
    expect(Object.keys(off.Tmpfs ?? {})).toEqual(["/run/claudeauth"]);
  });
});

it("every container the plugin starts is hardened: setup, run, test, refresh, the volume reader and --token-stdin into a volume", async () => {
  // A docker CLI in front of the real one that writes down each command line.
  const log = path.join(sandbox.dir, "docker-calls.log");
  fs.writeFileSync(log, "", { mode: 0o666 });
  fs.chmodSync(log, 0o666);
  const wrapper = writeScript(scriptsDir(sandbox), "docker-logging", `printf '%s\\n' "$*" >> '${log}'\nexec docker "$@"\n`);
  const env = { DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: wrapper };
  const volume = `claudeauth-test-hardening-${process.pid}`;
  try {
    const steps = [
      ["setup", "--profile", "logged", "--no-tty", "--network", "none", "--", "true"],
      ["run", "--network", "none", "--no-workspace", "--", "true"],
      ["test", "--network", "none", "--timeout", "30s"],
      ["refresh", "--network", "none"],
      ["setup", "--store-volume", volume, "--token-stdin"],
      ["status", "--store-volume", volume],
    ];
    for (const args of steps) await plugin(sandbox, args, { env, input: args.includes("--token-stdin") ? `sk-ant-oat01-${"H".repeat(60)}\n` : undefined });
  } finally {
    await docker(["volume", "rm", "-f", volume]);
  }
  const runs = fs.readFileSync(log, "utf8").split("\n").filter((line) => line.startsWith("run "));
  expect(runs.length).toBeGreaterThanOrEqual(6);
  for (const line of runs) {
    expect(line).toContain("--cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add SETUID --cap-add SETGID --cap-add KILL");
    expect(line).toContain("--security-opt no-new-privileges --pids-limit 1024 --read-only");
  }
});

describe("what the workload can no longer do", () => {
  it("a setuid-root program it can reach gains nothing: no read of the store, no chown of a root file; no capability, the root filesystem read-only, processes bounded", async () => {
    // Setuid-root copies of the image's own cat and chown, reachable through a mount.
    const suid = path.join(sandbox.dir, "suid");
    fs.mkdirSync(suid, { mode: 0o755 });
    for (const program of ["cat", "chown"]) {
      const binary = await execa("docker", ["run", "--rm", "--network", "none", "--entrypoint", "cat", RUN_IMAGE, `/bin/${program}`], { encoding: "buffer" });
      fs.writeFileSync(path.join(suid, program), binary.stdout);
      fs.chownSync(path.join(suid, program), 0, 0);
      fs.chmodSync(path.join(suid, program), 0o4755);
    }
    const probe = [
      TOKEN_HASHES,
      "/suid/cat /var/lib/claudeauth/store/captures/00000001/.credentials.json 2>/dev/null | token_hashes",
      "/suid/chown \"$(id -u)\" /usr/bin/tini 2>/dev/null && echo chowned-a-root-file",
      "grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr -d '\\t'",
      "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max",
      "touch /var/tmp/probe 2>/dev/null && echo rootfs-writable",
      'touch /tmp/probe "$HOME/probe" && echo tmp-and-home-writable',
    ].join("\n");
    const run = await dockerPlugin(sandbox, ["claudeauth", "run", "--network", "none", "--no-workspace", "-v", `${suid}:/suid:ro`, "--", "sh", "-c", probe]);
    expect(run.exitCode, run.output).toBe(0);
    const lines = run.stdout.split("\n").filter(Boolean);
    expect(lines).not.toContain(sha256(refreshToken));
    expect(lines).toEqual(["CapEff:0000000000000000", `CapBnd:${KEPT_MASK}`, "NoNewPrivs:1", "1024", "tmp-and-home-writable"]);
  });

  it.runIf(process.getuid?.() === 0)("run as root on the host (the workload is the image's user): its home is a writable tmpfs, the real Claude CLI runs logged in", async () => {
    const root = makeSandbox("hardening-root");
    try {
      await seedHubStore(root, { uid: 0, gid: 0 }, makeCredentials("hardening-root"), "root@example.com");
      const run = await dockerPlugin(root, ["claudeauth", "run", "--network", "none", "--no-workspace", "--", "sh", "-c", 'touch "$HOME/probe" && echo "home $HOME"; claude auth status --json']);
      expect(run.exitCode, run.output).toBe(0);
      expect(run.stdout.split("\n")[0]).toBe("home /home/claude");
      expect(JSON.parse(run.stdout.split("\n").slice(1).join("\n"))).toMatchObject({ loggedIn: true, email: "root@example.com" });
    } finally {
      await root.cleanup();
    }
  });
});
