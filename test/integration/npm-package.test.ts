// The plugin as an npm package, the path for hosts without a single executable of ours (macOS,
// Windows): `npm pack dist/npm`, installed into a clean prefix, `docker-claudeauth install`
// writes a launcher that runs the bundle on the host's Node, and docker finds and runs it; the
// Dockerfiles and entrypoints `build` needs travel in the package.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, VERSION } from "../support/images";

let work = "";

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-npm-"));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("npm package", { timeout: 300_000 }, () => {
  it("npm pack → npm install -g into a clean prefix → docker-claudeauth install → docker claudeauth runs on the host's Node", async () => {
    const pack = await execa("npm", ["pack", path.join(ROOT, "dist/npm"), "--pack-destination", work, "--silent"], { cwd: work });
    const tarball = path.join(work, pack.stdout.trim().split("\n").pop()!);
    expect(tarball).toMatch(new RegExp(`docker-claudeauth-${VERSION.replace(/\./g, "\\.")}\\.tgz$`));
    const files = (await execa("tar", ["-tzf", tarball])).stdout.split("\n").sort();
    expect(files).toEqual([
      "package/dist/.sea/claudeauth-entrypoint-amd64.gz", "package/dist/.sea/claudeauth-entrypoint-arm64.gz",
      "package/docker/Dockerfile", "package/docker/Dockerfile.claude-setup", "package/docker/Dockerfile.entrypoint",
      "package/lib/docker-claudeauth.cjs", "package/lib/postject/LICENSE", "package/lib/postject/api.js", "package/package.json",
    ]);

    const prefix = path.join(work, "prefix");
    await execa("npm", ["install", "-g", "--prefix", prefix, tarball, "--offline", "--no-audit", "--no-fund", "--loglevel=error"]);
    const config = path.join(work, "docker-config");
    fs.mkdirSync(config);
    fs.writeFileSync(path.join(config, "config.json"), "{}\n");
    const install = await execa(path.join(prefix, "bin/docker-claudeauth"), ["install"], { env: { DOCKER_CONFIG: config } });
    expect(install.stdout).toContain(`installed docker-claudeauth ${VERSION} to ${path.join(config, "cli-plugins/docker-claudeauth")}`);
    const launcher = fs.readFileSync(path.join(config, "cli-plugins/docker-claudeauth"), "utf8");
    expect(launcher).toMatch(/^#!\/bin\/sh\n/);
    expect(launcher).toContain(`'${path.join(fs.realpathSync(prefix), "lib/node_modules/docker-claudeauth/lib/docker-claudeauth.cjs")}'`);

    const version = await execa("docker", ["--config", config, "claudeauth", "version"], { reject: false });
    expect(version.exitCode, version.stderr).toBe(0);
    expect(version.stdout).toMatch(new RegExp(`^docker-claudeauth version ${VERSION.replace(/\./g, "\\.")} \\(node ${process.version}, `));
    // build reads the Dockerfiles and entrypoints from the package: --check names all three images.
    const check = await execa("docker", ["--config", config, "claudeauth", "build", "--check"], { reject: false, all: true });
    expect([0, 1], check.all).toContain(check.exitCode);
    for (const image of ["run", "setup", "entrypoint"]) expect(check.all).toMatch(new RegExp(`^claudeauth/${image}:${VERSION.replace(/\./g, "\\.")} (is current|needs a build)`, "m"));

    // Windows' path, where Docker runs only docker-claudeauth.exe: install makes a single
    // executable from the host's Node with the package's postject. Here it is an ELF from this
    // Node; on Windows the same code makes the .exe from node.exe.
    const seaConfig = path.join(work, "docker-config-sea");
    fs.mkdirSync(seaConfig);
    fs.writeFileSync(path.join(seaConfig, "config.json"), "{}\n");
    const made = await execa(path.join(prefix, "bin/docker-claudeauth"), ["install", "--single-executable"], { env: { DOCKER_CONFIG: seaConfig }, all: true });
    expect(made.all).toBe(`installed docker-claudeauth ${VERSION} to ${path.join(seaConfig, "cli-plugins/docker-claudeauth")}\ntry: docker claudeauth version`);
    const executable = fs.readFileSync(path.join(seaConfig, "cli-plugins/docker-claudeauth"));
    expect(executable.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(executable.includes("NODE_SEA_BLOB")).toBe(true);
    const seaVersion = await execa("docker", ["--config", seaConfig, "claudeauth", "version"], { reject: false });
    expect(seaVersion.exitCode, seaVersion.stderr).toBe(0);
    expect(seaVersion.stdout).toMatch(new RegExp(`^docker-claudeauth version ${VERSION.replace(/\./g, "\\.")} \\(node ${process.version}, `));
    // The assets are inside it now: build --check reads them without the package beside it.
    fs.rmSync(path.join(prefix, "lib/node_modules/docker-claudeauth"), { recursive: true });
    const seaCheck = await execa("docker", ["--config", seaConfig, "claudeauth", "build", "--check"], { reject: false, all: true });
    expect([0, 1], seaCheck.all).toContain(seaCheck.exitCode);
    for (const image of ["run", "setup", "entrypoint"]) expect(seaCheck.all).toMatch(new RegExp(`^claudeauth/${image}:${VERSION.replace(/\./g, "\\.")} (is current|needs a build)`, "m"));
  });
});
