// Attack 1 of issue 8: the store inside the workspace. The workload runs with the host
// user's uid, which owns the store files, so any mount that reaches the store hands it the
// refresh token. `docker claudeauth run` (through the real docker CLI, as an ordinary host
// user) refuses, before any container starts, a workspace, --workdir, -v or --mount source
// that contains the store or the hub directory or lies inside one (real paths: symlinks,
// "..", trailing slashes), and a store volume mounted a second time.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeJson } from "../../core/credentials";
import { makeCredentials, seedStore } from "../support/fixtures";
import { seedHubStore } from "./support";
import { docker, dockerPlugin, ensureImages, HOST_USER, makeSandbox, plugin, scriptsDir, type PluginRun, type Sandbox } from "../support/docker";

const USER = process.getuid?.() === 0 ? HOST_USER : { uid: process.getuid!(), gid: process.getgid!() };
// A workload that says when it starts: a refused run never starts it.
const WORKLOAD = ["--", "sh", "-c", "echo workload-started"];

let sandbox: Sandbox;
let store: string;
let scripts: string;
let volume: string;

beforeAll(async () => {
  await ensureImages();
  sandbox = makeSandbox("exposure", { user: USER });
  scripts = scriptsDir(sandbox);
  store = await seedHubStore(sandbox, USER, makeCredentials("exposure"), "exposure@example.com");
  // A volume store, as `setup --store-volume` makes it (labelled with its profile).
  volume = `claudeauth-test-exposure-${process.pid}`;
  const created = await plugin(sandbox, ["setup", "--profile", "vol", "--store-volume", volume, "--token-stdin"], { input: `sk-ant-oat01-${"E".repeat(60)}\n` });
  if (created.exitCode !== 0) throw new Error(created.output);
});

afterAll(async () => {
  await docker(["volume", "rm", "-f", volume]);
  await sandbox?.cleanup();
});

function expectRefused(run: PluginRun, message: RegExp): void {
  expect(run.exitCode, run.output).toBe(125);
  expect(run.stderr.trim().split("\n"), run.stderr).toHaveLength(1);
  expect(run.stderr).toMatch(message);
  expect(run.stdout).not.toContain("workload-started");
}

describe("a workspace that reaches the store is refused", () => {
  it("cd ~ && docker claudeauth run: $HOME contains ~/.claude-hub, so nothing starts", async () => {
    // What the issue reproduced: this printed the refresh token.
    const grep = ["--", "sh", "-c", "echo workload-started; grep -r refreshToken /workspace/.claude-hub"];
    const run = await dockerPlugin(sandbox, ["claudeauth", "run", "--network", "none", ...grep], { cwd: sandbox.home });
    expectRefused(
      run,
      new RegExp(`^error: refusing to mount the workspace \\(the current directory\\) ${sandbox.home}: it contains the store of profile default \\(${store}\\), and the workload would read its refresh token; cd into your project directory`),
    );
  });

  it("--workdir inside the store, and --workdir through a symlink and '..' to the hub", async () => {
    const inside = await dockerPlugin(sandbox, ["claudeauth", "run", "--network", "none", "--workdir", path.join(store, "captures"), ...WORKLOAD]);
    expectRefused(inside, /refusing to mount the --workdir .*\/captures: it lies inside the store of profile default/);
    const link = path.join(sandbox.dir, "link-to-store");
    fs.symlinkSync(store, link);
    const viaLink = await dockerPlugin(sandbox, ["claudeauth", "run", "--network", "none", "--workdir", `${link}/..`, ...WORKLOAD]);
    expectRefused(viaLink, new RegExp(`refusing to mount the --workdir ${sandbox.dir}: it contains the store of profile default`));
  });

  it("a workspace that contains the hub directory is refused even for a profile stored elsewhere", async () => {
    const elsewhere = path.join(sandbox.dir, "elsewhere-store");
    fs.mkdirSync(elsewhere, { mode: 0o700 });
    fs.chownSync(elsewhere, USER.uid, USER.gid);
    await seedStore(elsewhere, { ".credentials.json": serializeJson(makeCredentials("elsewhere")) }, USER);
    const run = await dockerPlugin(sandbox, ["claudeauth", "run", "--store", elsewhere, "--network", "none", ...WORKLOAD], { cwd: sandbox.home });
    expectRefused(run, /it contains the hub directory of the stores \(.*\.claude-hub\)/);
  });
});

describe("a mount that reaches the store is refused", () => {
  it("-v of the hub directory, of a parent of it, of the store through a symlink with a trailing slash", async () => {
    const link = path.join(sandbox.dir, "another-link");
    fs.symlinkSync(store, link);
    const cases: [string, RegExp][] = [
      [sandbox.hub, /it contains the store of profile default/],
      [sandbox.dir, /it contains the store of profile default/],
      ["/", /it contains the store of profile default/],
      [`${link}/`, /it is the store of profile default/],
    ];
    for (const [source, message] of cases) {
      const run = await dockerPlugin(sandbox, ["claudeauth", "run", "--network", "none", "--no-workspace", "-v", `${source}:/x:ro`, ...WORKLOAD]);
      expectRefused(run, new RegExp(`^error: refusing to mount the -v source ${source.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: ${message.source}`));
    }
  });

  it("--mount of a path inside the store written with '..', and -v of a path in the hub that does not exist yet (Docker would create it as root)", async () => {
    const dotted = `${sandbox.hub}/../.claude-hub/default/captures/`;
    const run = await dockerPlugin(sandbox, ["claudeauth", "run", "--network", "none", "--no-workspace", "--mount", `type=bind,source=${dotted},target=/x`, ...WORKLOAD]);
    expectRefused(run, /refusing to mount the --mount source .*: it lies inside the store of profile default/);
    const missing = path.join(sandbox.hub, "not-yet");
    const created = await dockerPlugin(sandbox, ["claudeauth", "run", "--network", "none", "--no-workspace", "-v", `${missing}:/x`, ...WORKLOAD]);
    expectRefused(created, /it lies inside the hub directory of the stores/);
    expect(fs.existsSync(missing)).toBe(false);
  });

  it("the store volume mounted a second time (-v and --mount), by its own profile or by another", async () => {
    const own = await dockerPlugin(sandbox, ["claudeauth", "run", "--store-volume", volume, "--network", "none", "--no-workspace", "-v", `${volume}:/x`, ...WORKLOAD]);
    expectRefused(own, new RegExp(`^error: refusing to mount the -v source ${volume}: it is the store volume of profile default`));
    const other = await dockerPlugin(sandbox, ["claudeauth", "run", "--network", "none", "--no-workspace", "--mount", `type=volume,src=${volume},dst=/x,readonly`, ...WORKLOAD]);
    expectRefused(other, new RegExp(`refusing to mount the --mount source ${volume}: it is the store volume of profile vol`));
  });

  it("setup, test and refresh refuse the same mounts", async () => {
    for (const [command, ...rest] of [["setup", "--no-tty", "--", "true"], ["test"], ["refresh"]]) {
      const run = await dockerPlugin(sandbox, ["claudeauth", command!, "--network", "none", "-v", `${sandbox.hub}:/x`, ...rest]);
      expectRefused(run, /refusing to mount the -v source .*: it contains the store of profile default/);
    }
  });
});

it("a workspace and mounts that do not reach the store still work", async () => {
  const project = path.join(sandbox.dir, "project");
  fs.mkdirSync(project, { mode: 0o755 });
  fs.chownSync(project, USER.uid, USER.gid);
  fs.writeFileSync(path.join(scripts, "hello.txt"), "hello\n", { mode: 0o644 });
  const run = await dockerPlugin(
    sandbox,
    ["claudeauth", "run", "--network", "none", "-v", `${scripts}:/x:ro`, "--mount", "type=tmpfs,target=/cache", "--", "sh", "-c", "pwd; cat /x/hello.txt; touch /cache/ok && echo cache-ok"],
    { cwd: project },
  );
  expect(run.exitCode, run.output).toBe(0);
  expect(run.stdout.split("\n")).toEqual(["/workspace", "hello", "cache-ok"]);
});
