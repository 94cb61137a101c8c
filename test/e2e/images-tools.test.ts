// End to end, the images as places to work: the production image carries the tools Claude
// Code works with (git, ripgrep, ssh, curl, jq, less, ps) on a slim Debian without Node, is at
// most 520 MB, and neither image has a setuid or setgid file (a prompt-injected workload gets
// no way back to root through su, mount, passwd and the like).
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoTokens } from "../support/tokens";
import {
  docker, ensureImages, HOST_USER, hostUserDir, loggedInStore, removeContainers, RUN_IMAGE, runSession, SETUP_IMAGE,
} from "../support/images";

const MAX_RUN_IMAGE_BYTES = 520e6;

let scratch: string;
let store: string;

beforeAll(async () => {
  await ensureImages();
  scratch = hostUserDir("tools");
  store = await loggedInStore(scratch, "tools");
});

afterAll(async () => {
  if (scratch) await removeContainers([store]);
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe.concurrent("the production image is a place to work", { timeout: 240_000 }, () => {
  it("docker claudeauth run -- sh -c 'git --version && rg --version && ssh -V && curl --version && jq --version' exits 0", async () => {
    const command = ["sh", "-c", "git --version && rg --version && ssh -V && curl --version && jq --version && less --version && ps --version"];
    const result = await runSession("run", { store, command }, "plugin");
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^git version 2\./m);
    expect(result.stdout).toMatch(/^ripgrep \d+\./m);
    expect(result.stderr).toMatch(/^OpenSSH_/m); // ssh -V prints to stderr
    expect(result.stdout).toMatch(/^curl \d+\./m);
    expect(result.stdout).toMatch(/^jq-1\./m);
  });

  it("the workload (as the invoking user) commits with git and searches with rg in its workspace", async () => {
    const script = [
      "set -e",
      "cd /tmp && git init -q repo && cd repo",
      "echo 'needle in a haystack' > notes.txt",
      "git add notes.txt",
      "git -c user.name=Claude -c user.email=claude@example.com commit -q -m 'first commit'",
      "git log --format='commit: %s by %an'",
      "rg --with-filename -n needle notes.txt",
      "curl -sS file:///tmp/repo/notes.txt | jq -R '{line: .}' -c",
      'echo "uid=$(id -u) name=$(id -un) home=$(getent passwd "$(id -u)" | cut -d: -f6)"',
      'test "$(getent passwd "$(id -u)" | cut -d: -f6)" = "$HOME" && echo "passwd home is HOME"',
    ].join("\n");
    const result = await runSession("run", { store, command: ["sh", "-c", script] }, "plugin");
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("commit: first commit by Claude");
    expect(result.stdout).toContain("notes.txt:1:needle in a haystack");
    expect(result.stdout).toContain('{"line":"needle in a haystack"}');
    // The host user's uid has no entry in the image's /etc/passwd; the entrypoint gives it one
    // (ssh would refuse to run without it).
    expect(result.stdout).toContain(`uid=${HOST_USER.uid} name=claude`);
    expect(result.stdout).toContain("passwd home is HOME");
  });

  // The hardening the plugin applies to its containers: the privilege drop (setpriv when
  // supervised, in-process in exec mode) and the host user's passwd entry still work.
  it.each([
    ["supervised", "1"],
    ["exec mode", "0"],
  ])("under --read-only, --cap-drop ALL (+ the entrypoint's six), no-new-privileges: %s, the host uid gets its groups and a passwd entry; ssh runs", async (_mode, supervise) => {
    const result = await docker([
      "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL",
      ...["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"].flatMap((cap) => ["--cap-add", cap]), // engine 20.10 takes one per flag
      "--security-opt", "no-new-privileges", "--tmpfs", "/run/claudeauth:mode=1777", "-e", "CLAUDEAUTH_WORK_DIR=/run/claudeauth",
      "-e", `CLAUDEAUTH_UID=${HOST_USER.uid}`, "-e", `CLAUDEAUTH_GID=${HOST_USER.gid}`, "-e", `CLAUDEAUTH_SUPERVISE=${supervise}`,
      "-v", `${store}:/var/lib/claudeauth/store`, RUN_IMAGE,
      "sh", "-c", 'echo "ids=$(id -u):$(id -g) groups=$(id -G) name=$(id -un)"; ssh -V 2>&1 | cut -d, -f1; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status | tr "\t" " "',
    ]);
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual([
      `ids=${HOST_USER.uid}:${HOST_USER.gid} groups=${HOST_USER.gid} name=claude`,
      expect.stringMatching(/^OpenSSH_/),
      "CapEff: 0000000000000000",
      "NoNewPrivs: 1",
    ]);
  });

  it("is a slim Debian without Node, at most 520 MB", async () => {
    const inspect = await docker(["image", "inspect", "--format", "{{.Size}}", RUN_IMAGE]);
    expect(inspect.exitCode, inspect.stderr).toBe(0);
    expect(Number(inspect.stdout.trim())).toBeLessThanOrEqual(MAX_RUN_IMAGE_BYTES);
    const probe = await docker(["run", "--rm", "--network", "none", "--entrypoint", "sh", RUN_IMAGE, "-c", ". /etc/os-release; echo $ID; command -v node || echo 'no node'"]);
    expect(probe.exitCode, probe.stderr).toBe(0);
    expect(probe.stdout.trim().split("\n")).toEqual(["debian", "no node"]);
  });

  const setuidFiles = async (image: string) => {
    const result = await docker(["run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "find", image, "/", "-xdev", "-perm", "/6000"]);
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout;
  };

  it.each([
    ["production", RUN_IMAGE],
    ["setup", SETUP_IMAGE],
  ])("the %s image has no setuid or setgid file: find / -xdev -perm /6000 prints nothing", async (_kind, image) => {
    expect(await setuidFiles(image)).toBe("");
  });

  it("(the same find on the Debian base the images start from lists su and mount)", async () => {
    expect((await setuidFiles("debian:bookworm-slim")).split("\n")).toEqual(expect.arrayContaining(["/usr/bin/su", "/usr/bin/mount"]));
  });
});
