// The entrypoint's own last line of defence, for whoever starts the production image without
// the plugin (a Compose file, `docker run`, a user's image): before the workload starts, it
// refuses when the workload could reach the store's files by any path — a workspace that
// holds the store, a directory of the store mounted elsewhere, a mount point it can pass.
// Real engine, real image, `docker run` as a Compose file would.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeJson } from "../../core/credentials";
import { commit } from "../../core/store";
import { DirStore } from "../../core/store-dir";
import { containerName, docker, ensureImages, HOST_USER, hostUserDir, oauthCredentials, removeContainers, RUN_IMAGE, STORE_IN_CONTAINER } from "../support/images";

let dir = "";
let store = "";
beforeAll(async () => {
  await ensureImages();
  dir = hostUserDir("claudeauth-mounts-");
  store = path.join(dir, "hub", "default");
  fs.mkdirSync(path.dirname(store), { mode: 0o700 });
  await commit(new DirStore(store, HOST_USER), (draft) => {
    fs.writeFileSync(path.join(draft, ".credentials.json"), serializeJson(oauthCredentials("mounts")), { mode: 0o600 });
  }, { source: "test", mode: "oauth" });
  for (const entry of [path.join(dir, "hub"), store]) fs.chownSync(entry, HOST_USER.uid, HOST_USER.gid);
});
afterAll(async () => {
  await removeContainers([store]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The workload as the host user (as the plugin and the Compose example run it), the store as the images expect. */
function runWith(mounts: string[], command = ["sh", "-c", "cat /workspace/hub/default/captures/*/.credentials.json; echo started"]) {
  return docker([
    "run", "--rm", "--network", "none", "--name", containerName("mounts"),
    "-e", `CLAUDEAUTH_OWNER=${HOST_USER.uid}:${HOST_USER.gid}`, "-e", `CLAUDEAUTH_UID=${HOST_USER.uid}`, "-e", `CLAUDEAUTH_GID=${HOST_USER.gid}`,
    "-v", `${store}:${STORE_IN_CONTAINER}`, ...mounts.flatMap((m) => ["-v", m]), RUN_IMAGE, ...command,
  ]);
}

describe("the production image refuses a workload that could reach the store", { timeout: 120_000 }, () => {
  it("a workspace that holds the store (WORKSPACE=~ in a Compose file): one line, the workload never starts", async () => {
    const run = await runWith([`${dir}:/workspace`]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).not.toContain("started");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/the store's files are also mounted at \/workspace\/hub\/default, where the workload \(uid \d+\) can read them/);
  });

  it("a directory of the store mounted elsewhere: refused the same way", async () => {
    const run = await runWith([`${path.join(store, "captures")}:/workspace`], ["sh", "-c", "echo started"]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).not.toContain("started");
    expect(run.stderr).toMatch(/also mounted at \/workspace, where the workload/);
  });

  it("a workspace beside the store runs as usual", async () => {
    const work = path.join(dir, "work");
    fs.mkdirSync(work, { recursive: true });
    fs.chownSync(work, HOST_USER.uid, HOST_USER.gid);
    const run = await runWith([`${work}:/workspace`], ["sh", "-c", "echo started"]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("started");
    expect(run.exitCode).toBe(0);
  });
});
