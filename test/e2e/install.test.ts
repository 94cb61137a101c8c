// End to end, scripts/install.sh as a user runs it a second time on an up-to-date checkout:
// it rebuilds nothing (binaries newer than their sources, images labelled with this version and
// entrypoint), installs the plugin where docker finds it, and is done in seconds; without an
// engine it says what to start instead of installing one.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILD_CA, ROOT, RUN_IMAGE, SETUP_IMAGE, docker, ensureImages } from "../support/images";

let config: string;

beforeAll(async () => {
  await ensureImages();
  config = fs.mkdtempSync(path.join(os.tmpdir(), "claudeauth-install-"));
});

afterAll(() => {
  if (config) fs.rmSync(config, { recursive: true, force: true });
});

const imageIds = async () => (await docker(["image", "inspect", "--format", "{{.Id}}", RUN_IMAGE, SETUP_IMAGE])).stdout;

describe("scripts/install.sh", { timeout: 240_000 }, () => {
  it("run a second time (an up-to-date checkout): no rebuild, under 15 s, the plugin installed, no strip warnings", { timeout: 900_000 }, async () => {
    const install = () =>
      execa("bash", ["scripts/install.sh"], { cwd: ROOT, reject: false, all: true, stdin: "ignore", env: { DOCKER_CONFIG: config, CLAUDEAUTH_CA_CERT: BUILD_CA } });
    // The first run finds what the suite built current (or brings it up to date).
    const first = await install();
    expect(first.exitCode, first.all).toBe(0);
    expect(first.all).not.toMatch(/\.note/);
    const before = await imageIds();
    const started = performance.now();
    const result = await install();
    const seconds = (performance.now() - started) / 1000;
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all).toContain("dist/ is current: not rebuilt");
    expect(result.all).toContain(`${RUN_IMAGE} is current (this version and entrypoint): not rebuilt`);
    expect(result.all).toContain(`${SETUP_IMAGE} is current (this version and entrypoint): not rebuilt`);
    expect(result.all).not.toMatch(/^Step \d+\/|Sending build context|\.note/m);
    expect(seconds).toBeLessThan(15);
    expect(await imageIds()).toBe(before);
    const version = await execa("docker", ["claudeauth", "version", "--short"], { reject: false, env: { DOCKER_CONFIG: config } });
    expect(version.stdout.trim(), version.stderr).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("without an engine: one line saying to start Docker or check the context, and no engine installed", async () => {
    const result = await execa("bash", ["scripts/install.sh"], {
      cwd: ROOT, reject: false, all: true, stdin: "ignore", env: { DOCKER_CONFIG: config, DOCKER_HOST: "unix:///nonexistent/docker.sock" },
    });
    expect(result.exitCode).toBe(1);
    expect(result.all?.trim()).toBe(
      "install.sh: no Docker engine answers: start Docker (or check `docker context` and DOCKER_HOST), then run this again",
    );
  });
});
