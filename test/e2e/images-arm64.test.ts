// End to end, linux/arm64 (Docker Desktop on Apple Silicon, Graviton, Ampere, Raspberry Pi),
// here under emulation (qemu-user-static through binfmt_misc): the arm64 single executables
// run, `docker claudeauth build --platform linux/arm64` builds the production image from the
// entrypoint the plugin carries for arm64, and in it the real Claude CLI and the entrypoint's
// run mode work. Skipped, and counted as skipped in the summary line, where binfmt_misc
// cannot be set up. The first run makes the arm64 base images (debootstrap under qemu, a few
// minutes); later runs find them and the build cache in place.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoTokens } from "../support/tokens";
import {
  BUILD_CA, docker, ensureImages, hostUserDir, loggedInStore, pluginBinary, removeContainers, ROOT, RUNTIME_UID, STORE_IN_CONTAINER, VERSION,
} from "../support/images";

const ARM64_RUN_IMAGE = `claudeauth/run:${VERSION}-arm64`;
const ARM64 = ["--platform", "linux/arm64"];
// CLAUDEAUTH_TEST_ARM64=0 skips them too (a first run builds the arm64 images under qemu).
const wanted = process.env.CLAUDEAUTH_TEST_ARM64 !== "0";
const emulation = wanted ? spawnSync("bash", [path.join(ROOT, "scripts/binfmt.sh"), "arm64"], { encoding: "utf8" }) : null;
const canEmulate = emulation?.status === 0;
if (!canEmulate) console.warn(`linux/arm64 tests skipped: ${emulation ? emulation.stderr.trim() : "CLAUDEAUTH_TEST_ARM64=0"}`);

let scratch = "";
let store = "";

describe.runIf(canEmulate)("linux/arm64 under emulation", { timeout: 30 * 60_000 }, () => {
  beforeAll(async () => {
    await ensureImages();
    const base = await execa("bash", [path.join(ROOT, "scripts/base-image.sh"), "arm64"], { reject: false, all: true });
    if (base.exitCode !== 0) throw new Error(`arm64 base images: ${base.all}`);
    scratch = hostUserDir("arm64");
    store = await loggedInStore(scratch, "arm64");
  }, 30 * 60_000);

  afterAll(async () => {
    if (scratch) await removeContainers([store]);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("the build made x86-64 and aarch64 single executables of both programs (their ELF headers)", () => {
    // e_machine, at offset 18 of a 64-bit ELF header (`file` gives up on the SEA's many notes).
    const machine = (name: string) => {
      const header = Buffer.alloc(20);
      const fd = fs.openSync(path.join(ROOT, "dist", name), "r");
      fs.readSync(fd, header, 0, 20, 0);
      fs.closeSync(fd);
      expect(header.subarray(0, 5).toString("latin1"), name).toBe("\x7fELF\x02");
      return { 0x3e: "x86-64", 0xb7: "aarch64" }[header.readUInt16LE(18)] ?? "other";
    };
    for (const name of ["claudeauth-entrypoint", "docker-claudeauth"]) {
      expect(machine(name), name).toBe("x86-64");
      expect(machine(`${name}-linux-arm64`), `${name}-linux-arm64`).toBe("aarch64");
    }
  });

  it("the arm64 binaries run in an arm64 Debian: entrypoint --help, plugin version", async () => {
    const mounts = ["-v", `${path.join(ROOT, "dist")}:/dist:ro`];
    const result = await docker(["run", "--rm", ...ARM64, "--network", "none", ...mounts, "arm64v8/debian:bookworm-slim", "sh", "-c",
      "uname -m; /dist/claudeauth-entrypoint-linux-arm64 --help | head -n 1; /dist/docker-claudeauth-linux-arm64 version --short"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.split("\n")).toEqual(["aarch64", expect.stringMatching(/^Usage: claudeauth-entrypoint MODE/), VERSION]);
  });

  it("docker claudeauth build --platform linux/arm64 builds the production image; claude --version and run mode (id -u) work in it", async () => {
    const build = await execa(pluginBinary(), [
      "build", "--platform", "linux/arm64", "--only", "run", "--if-changed", "--quiet", "--network", "host", "--ca-cert", BUILD_CA,
      "--build-arg", "BASE_IMAGE=arm64v8/node:22-bookworm-slim", "--build-arg", "RUNTIME_BASE=arm64v8/debian:bookworm-slim",
    ], { reject: false, all: true, timeout: 25 * 60_000 });
    expect(build.exitCode, build.all).toBe(0);
    const inspect = await docker(["image", "inspect", "--format", "{{.Architecture}} {{index .Config.Labels \"io.claudeauth.role\"}}", ARM64_RUN_IMAGE]);
    expect(inspect.stdout.trim()).toBe("arm64 run");

    const version = await docker(["run", "--rm", ...ARM64, "--network", "none", "--entrypoint", "claude", ARM64_RUN_IMAGE, "--version"]);
    expect(version.exitCode, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^2\.1\.197 \(Claude Code\)$/m);

    // The image's own entrypoint, run mode, with the store the amd64 setup image captured.
    const run = await docker(["run", "--rm", ...ARM64, "--network", "none", "-v", `${store}:${STORE_IN_CONTAINER}`, ARM64_RUN_IMAGE,
      "sh", "-c", 'echo "$(uname -m) uid=$(id -u)"; claude auth status --json | grep -q \'"loggedIn": true\' && echo "claude: logged in"']);
    expectNoTokens(run);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(`aarch64 uid=${RUNTIME_UID}`);
    expect(run.stdout).toContain("claude: logged in");
  });
});
