// The plugin binary (dist/docker-claudeauth) as a command-line program: protocol, help,
// version, usage errors, profiles, and the host-side commands that need no container
// (status of host-dir stores, setup --token-stdin). Every output is scanned for tokens.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeJsonText, credentialsText, seedStore } from "../support/fixtures";
import { makeSandbox, plugin, VERSION, type Sandbox } from "../support/docker";

const ME = { uid: process.getuid!(), gid: process.getgid!() };
let sandbox: Sandbox;

beforeAll(() => {
  sandbox = makeSandbox("cli");
});
afterAll(async () => {
  await sandbox.cleanup();
});

function storeOf(profile: string): string {
  return path.join(sandbox.hub, profile);
}

async function seed(profile: string, options: { expiresInMs?: number; refreshToken?: string | null; owner?: { uid: number; gid: number }; email?: string } = {}): Promise<string> {
  const dir = storeOf(profile);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  await seedStore(
    dir,
    {
      ".credentials.json": credentialsText(profile, { expiresInMs: options.expiresInMs ?? 8 * 3_600_000, refreshToken: options.refreshToken }),
      ".claude.json": claudeJsonText(options.email ?? `${profile}@example.com`),
    },
    options.owner ?? ME,
  );
  return dir;
}

describe("Docker CLI plugin protocol", () => {
  it("docker-cli-plugin-metadata prints the schema 0.1.0 record and exits 0, quickly", async () => {
    const run = await plugin(sandbox, ["docker-cli-plugin-metadata"]);
    expect(run.exitCode).toBe(0);
    const metadata = JSON.parse(run.stdout);
    expect(metadata).toMatchObject({ SchemaVersion: "0.1.0", Version: VERSION });
    expect(Object.keys(metadata).sort()).toEqual(["SchemaVersion", "ShortDescription", "URL", "Vendor", "Version"]);
    expect(run.stderr).toBe("");
    expect(run.ms).toBeLessThan(2_000);
  });

  it.each([[["--help"]], [["-h"]], [["help"]], [[]], [["help", "claudeauth"]]])("%j prints Docker-style help and exits 0", async (args) => {
    const run = await plugin(sandbox, args);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.startsWith("Usage:  docker claudeauth [OPTIONS] COMMAND\n")).toBe(true);
    for (const command of ["setup", "run", "status", "test", "doctor", "refresh", "build", "install", "logout", "version"]) {
      expect(run.stdout).toMatch(new RegExp(`^  ${command} +\\S`, "m"));
    }
    expect(run.stdout).toMatch(/^Management Commands:\n  profile +/m);
    expect(run.stdout).toContain("Run 'docker claudeauth COMMAND --help' for more information on a command.");
  });

  it.each([
    [["status", "--help"], "Usage:  docker claudeauth status [OPTIONS]"],
    [["help", "run"], "Usage:  docker claudeauth run [OPTIONS] [COMMAND [ARG...]]"],
    [["profile", "rm", "-h"], "Usage:  docker claudeauth profile rm [OPTIONS] PROFILE [PROFILE...]"],
    [["profile"], "Usage:  docker claudeauth profile COMMAND"],
    [["setup", "--help"], "Usage:  docker claudeauth setup [OPTIONS] [COMMAND [ARG...]]"],
    [["run", "--no-tty", "--help"], "Usage:  docker claudeauth run [OPTIONS] [COMMAND [ARG...]]"],
  ])("%j prints that command's help", async (args, usage) => {
    const run = await plugin(sandbox, args);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe(usage);
  });

  it("help for run lists its flags in pflag layout", async () => {
    const run = await plugin(sandbox, ["run", "--help"]);
    expect(run.stdout).toMatch(/^Options:$/m);
    expect(run.stdout).toMatch(/^  -e, --env list +Set environment variables/m);
    expect(run.stdout).toMatch(/^      --profile string +Profile/m);
  });

  it("the same binary answers when started by docker (claudeauth word, global flags first)", async () => {
    const direct = await plugin(sandbox, ["version", "--short"]);
    const viaDocker = await plugin(sandbox, ["--context", "default", "-D", "claudeauth", "version", "--short"]);
    expect(direct.stdout).toBe(VERSION);
    expect(viaDocker.stdout).toBe(VERSION);
    expect(viaDocker.exitCode).toBe(0);
  });

  it("version: a line, --short, --format json", async () => {
    const line = await plugin(sandbox, ["version"]);
    expect(line.stdout).toMatch(new RegExp(`^docker-claudeauth version ${VERSION.replace(/\./g, "\\.")} \\(node v22\\.`));
    const json = JSON.parse((await plugin(sandbox, ["version", "--format", "json"])).stdout);
    expect(json).toMatchObject({ version: VERSION, platform: `${process.platform}/${process.arch}` });
    expect(json.node).toMatch(/^v22\./);
    expect((await plugin(sandbox, ["--version"])).stdout).toContain(`version ${VERSION}`);
  });

  it("shell completion answers cobra's __complete protocol without Docker", async () => {
    await seed("alpha");
    const commands = await plugin(sandbox, ["__complete", "claudeauth", "st"]);
    expect(commands.exitCode).toBe(0);
    expect(commands.stdout.split("\n")).toEqual([expect.stringMatching(/^status\t/), ":4"]);
    const all = (await plugin(sandbox, ["__complete", "claudeauth", ""])).stdout;
    for (const word of ["setup", "run", "status", "test", "doctor", "refresh", "profile", "build", "install", "logout", "version"]) expect(all).toMatch(new RegExp(`^${word}\\t`, "m"));
    const profiles = await plugin(sandbox, ["__complete", "claudeauth", "status", "--profile", ""]);
    expect(profiles.stdout.split("\n")).toContain("alpha");
    const flags = await plugin(sandbox, ["__complete", "claudeauth", "refresh", "--if"]);
    expect(flags.stdout).toMatch(/^--if-expiring-within\t/m);
    const sub = await plugin(sandbox, ["__complete", "claudeauth", "profile", ""]);
    expect(sub.stdout).toMatch(/^ls\t/m);
    expect(sub.stdout).toMatch(/^rm\t/m);
  });
});

describe("usage errors exit 125 with one line", () => {
  it.each([
    [["bogus"], /unknown command "bogus" for "docker claudeauth"/],
    [["status", "--bogus"], /unknown flag: --bogus/],
    [["status", "--profile"], /flag needs an argument: --profile/],
    [["version", "--format", "xml"], /unsupported --format "xml"/],
    [["status", "extra"], /unexpected argument "extra"/],
    [["run", "--volume", "mystore"], /--volume is now a bind mount \(as docker run -v SRC:DST\); the store volume is --store-volume mystore/],
    [["status", "--store", "/tmp/x", "--store-volume", "vol"], /--store and --store-volume cannot be used together/],
    [["refresh", "--if-expiring-within", "soon"], /invalid duration "soon"/],
    [["build", "--only", "both"], /--only must be "setup", "run" or "entrypoint"/],
    [["profile", "nope"], /unknown command "nope" for "docker claudeauth profile"/],
    [["--context"], /flag needs an argument: --context/],
    [["status", "--all", "--profile", "x"], /--all shows every profile/],
  ])("%j", async (args, message) => {
    const run = await plugin(sandbox, args);
    expect(run.exitCode, run.output).toBe(125);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/^error: /);
  });

  const BAD_PROFILES = ["../etc", "a/b", "Upper", ".hidden", "-dash", "a..b", "", "x".repeat(65), "sp ace"];
  it.concurrent.each(BAD_PROFILES.flatMap((name) => [["status", name], ["setup", name], ["run", name], ["refresh", name], ["test", name], ["doctor", name]]))(
    "%s --profile %j is refused before anything runs",
    async (command, name) => {
      const run = await plugin(sandbox, [command!, `--profile=${name}`, ...(command === "setup" ? ["--no-tty"] : [])]);
      expect(run.exitCode, run.output).toBe(125);
      expect(run.stderr).toMatch(/invalid profile name/);
      if (name) expect(fs.existsSync(path.join(sandbox.hub, name))).toBe(false);
    },
  );

  it("a profile rm with a bad name is refused too", async () => {
    const run = await plugin(sandbox, ["profile", "rm", "--force", "../../etc"]);
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toMatch(/invalid profile name "..\/..\/etc"/);
  });
});

describe("status of host-dir stores (no container)", () => {
  it("a profile that was never set up: exit 1, says how to set it up", async () => {
    const run = await plugin(sandbox, ["status", "--profile", "never"]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^Status: +not set up$/m);
    expect(run.stdout).toContain("fix: docker claudeauth setup --profile never");
  });

  it("a valid capture: healthy, expiry relative and absolute, refresh token, scopes, subscription, modes", async () => {
    await seed("good", { email: "good@example.com" });
    const run = await plugin(sandbox, ["status", "--profile", "good"]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/^Status: +healthy$/m);
    expect(run.stdout).toMatch(/^Mode: +oauth/m);
    expect(run.stdout).toMatch(/^Account: +good@example\.com \(Example\)$/m);
    expect(run.stdout).toMatch(/^Subscription: +max$/m);
    expect(run.stdout).toMatch(/^Access token: +expires in 7h 59m \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00\)$/m);
    expect(run.stdout).toMatch(/^Refresh token: +present$/m);
    expect(run.stdout).toMatch(/^Scopes: +user:inference user:profile user:sessions:claude_code$/m);
    expect(run.stdout).toMatch(/^Last capture: +#1 by setup, \d+s ago/m);
    expect(run.stdout).toMatch(/^  0700 +0:0 +captures\/00000001\/$/m);
    expect(run.stdout).toMatch(/^  0600 +0:0 +captures\/00000001\/\.credentials\.json$/m);
    expect(run.ms).toBeLessThan(3_000);
  });

  it("--json for monitors", async () => {
    await seed("jsonp");
    const run = await plugin(sandbox, ["status", "--profile", "jsonp", "--json"]);
    expect(run.exitCode).toBe(0);
    const status = JSON.parse(run.stdout);
    expect(status).toMatchObject({
      profile: "jsonp",
      store: { kind: "dir", location: storeOf("jsonp") },
      healthy: true,
      state: "ok",
      mode: "oauth",
      refreshToken: { present: true },
      subscription: "max",
      capture: { generation: 1, source: "setup" },
      problems: [],
    });
    expect(status.accessToken.expired).toBe(false);
    expect(Date.parse(status.accessToken.expiresAt)).toBeGreaterThan(Date.now());
    expect(status.files.map((f: { path: string }) => f.path)).toContain("captures/00000001/.credentials.json");
  });

  it("an expired access token that the refresh token renews: exit 0 (an idle login), a note naming refresh", async () => {
    await seed("stale", { expiresInMs: -2 * 3_600_000 });
    const run = await plugin(sandbox, ["status", "--profile", "stale"]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/^Status: +healthy$/m);
    expect(run.stdout).toMatch(/^Access token: +expired 2h 0m ago/m);
    expect(run.stdout).toContain('note: the access token expired 2h 0m ago; the refresh token renews it at the next run (or "docker claudeauth refresh --profile stale")');
  });

  it("expiring soon without a refresh token: healthy with warnings", async () => {
    await seed("soon", { expiresInMs: 20 * 60_000, refreshToken: null });
    const run = await plugin(sandbox, ["status", "--profile", "soon"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^Status: +healthy, with warnings$/m);
    expect(run.stdout).toMatch(/^Refresh token: +absent$/m);
    expect(run.stdout).toMatch(/warning: the access token expires in 19m/);
  });

  it("--store DIR and $CLAUDE_HUB_DIR choose the store", async () => {
    const custom = path.join(sandbox.dir, "custom-store");
    fs.mkdirSync(custom, { mode: 0o700 });
    await seedStore(custom, { ".credentials.json": credentialsText("custom") }, ME);
    const byFlag = await plugin(sandbox, ["status", "--store", custom, "--json"]);
    expect(JSON.parse(byFlag.stdout).store.location).toBe(custom);
    const hub = path.join(sandbox.dir, "other-hub");
    fs.mkdirSync(path.join(hub, "default"), { recursive: true, mode: 0o700 });
    await seedStore(path.join(hub, "default"), { ".credentials.json": credentialsText("hub") }, ME);
    const byEnv = await plugin(sandbox, ["status", "--json"], { env: { CLAUDE_HUB_DIR: hub } });
    expect(byEnv.exitCode).toBe(0);
    expect(JSON.parse(byEnv.stdout).store.location).toBe(path.join(hub, "default"));
  });

  it("--all shows every profile; exit 1 when one is unhealthy (expired, nothing to renew it)", async () => {
    const hub = path.join(sandbox.dir, "hub-all");
    for (const [name, expires] of [["one", 3_600_000 * 5], ["two", -60_000]] as const) {
      fs.mkdirSync(path.join(hub, name), { recursive: true, mode: 0o700 });
      await seedStore(path.join(hub, name), { ".credentials.json": credentialsText(name, { expiresInMs: expires, refreshToken: expires < 0 ? null : undefined }) }, ME);
    }
    const run = await plugin(sandbox, ["status", "--all", "--json"], { env: { CLAUDE_HUB_DIR: hub } });
    expect(run.exitCode).toBe(1);
    const all = JSON.parse(run.stdout);
    expect(all.map((s: { profile: string; healthy: boolean }) => [s.profile, s.healthy])).toEqual([["one", true], ["two", false]]);
    const text = await plugin(sandbox, ["status", "--all", "--no-files"], { env: { CLAUDE_HUB_DIR: hub } });
    expect(text.stdout).toMatch(/^Profile: +one$/m);
    expect(text.stdout).toMatch(/^Profile: +two$/m);
  });

  it("files readable by others and files of another owner are flagged with the fixing command", async () => {
    const dir = await seed("loose", { owner: { uid: 31337, gid: 31337 } });
    fs.chmodSync(dir, 0o755);
    const run = await plugin(sandbox, ["status", "--profile", "loose"]);
    expect(run.stdout).toContain(`fix: chmod -R go= ${dir}`);
    expect(run.stdout).toMatch(/belong to 31337:31337, not to you \(0:0\)/);
    expect(run.stdout).toContain(`fix: sudo chown -R 0:0 ${dir}`);
  });

  it("a capture whose .credentials.json is empty (a login that never finished) is invalid", async () => {
    const dir = await seed("blank");
    fs.writeFileSync(path.join(dir, "captures/00000001/.credentials.json"), "");
    const run = await plugin(sandbox, ["status", "--profile", "blank"]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^Status: +invalid$/m);
    expect(run.stdout).toContain(".credentials.json is empty: the login was not completed");
    expect(run.stdout).toContain("fix: docker claudeauth setup --profile blank");
  });

  it("a directory laid out like ~/.claude (the seed's capture) is recognised", async () => {
    const dir = storeOf("seedlayout");
    fs.mkdirSync(path.join(dir, "projects"), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, ".credentials.json"), "", { mode: 0o600 });
    const run = await plugin(sandbox, ["status", "--profile", "seedlayout"]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain("is laid out like ~/.claude");
    expect(run.stdout).toContain("its .credentials.json is empty: the interactive login was not completed");
  });
});

describe("long-lived tokens from stdin (no container for a host-dir store)", () => {
  it("setup --token-stdin stores the token 0600 in a new long-lived capture; status shows the mode", async () => {
    const token = `sk-ant-oat01-${"Q".repeat(40)}-stdin`;
    const run = await plugin(sandbox, ["setup", "--profile", "ll", "--token-stdin"], { input: `${token}\n` });
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/^Mode: +long-lived token/m);
    const capture = path.join(storeOf("ll"), "captures/00000001");
    expect(fs.readFileSync(path.join(capture, "oauth-token"), "utf8")).toBe(`${token}\n`);
    expect(fs.statSync(path.join(capture, "oauth-token")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(storeOf("ll")).mode & 0o777).toBe(0o700);
    expect(JSON.parse(fs.readFileSync(path.join(capture, "claudeauth.json"), "utf8"))).toMatchObject({ mode: "long-lived", source: "token-stdin" });
    const status = JSON.parse((await plugin(sandbox, ["status", "--profile", "ll", "--json"])).stdout);
    expect(status).toMatchObject({ healthy: true, mode: "long-lived", longLivedToken: { present: true }, accessToken: null });
  });

  it("a long-lived capture keeps the earlier capture's .claude.json and drops its OAuth credentials", async () => {
    const dir = await seed("switch", { email: "switch@example.com" });
    const run = await plugin(sandbox, ["setup", "--profile", "switch", "--token-stdin"], { input: `sk-ant-oat01-${"S".repeat(40)}\n` });
    expect(run.exitCode).toBe(0);
    const names = fs.readdirSync(path.join(dir, "captures/00000002")).sort();
    expect(names).toEqual([".claude.json", "claudeauth.json", "oauth-token"]);
    expect(run.stdout).toMatch(/^Account: +switch@example\.com/m);
  });

  it.each([["", /no token on stdin/], ["two words\n", /does not hold a single token/]])("refuses %j", async (input, message) => {
    const run = await plugin(sandbox, ["setup", "--profile", "llbad", "--token-stdin"], { input });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(fs.existsSync(path.join(storeOf("llbad"), "captures/00000001"))).toBe(false);
  });
});

describe("commands that stop before Docker", () => {
  it("setup without a terminal and without a command says it needs one", async () => {
    const run = await plugin(sandbox, ["setup", "--profile", "noterm"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: setup needs a terminal for the interactive login: .*--no-tty/);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("run on a profile without a store: not logged in, names setup", async () => {
    const run = await plugin(sandbox, ["run", "--profile", "absent", "--", "true"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/not logged in: profile absent has no store .*docker claudeauth setup --profile absent/);
    expect(fs.existsSync(storeOf("absent"))).toBe(false);
  });

  it("a token on the -e command line is refused", async () => {
    await seed("envp");
    const run = await plugin(sandbox, ["run", "--profile", "envp", "-e", `CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-${"E".repeat(30)}`, "--", "true"], { allowTokens: "the refused command line echoes the token-shaped value's name" });
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toMatch(/holds a token: tokens never go on a command line/);
    expect(run.stderr).not.toMatch(/EEEEEEEE/);
  });
});

describe("profile ls / rm", () => {
  it("ls lists host profiles with mode and status; -q only names; --json", async () => {
    const hub = path.join(sandbox.dir, "hub-ls");
    fs.mkdirSync(path.join(hub, "work"), { recursive: true, mode: 0o700 });
    await seedStore(path.join(hub, "work"), { ".credentials.json": credentialsText("work") }, ME);
    fs.mkdirSync(path.join(hub, "empty"), { mode: 0o700 });
    const env = { CLAUDE_HUB_DIR: hub };
    const table = await plugin(sandbox, ["profile", "ls"], { env });
    expect(table.exitCode, table.output).toBe(0);
    expect(table.stdout).toMatch(/^PROFILE +TYPE +STORE +MODE +STATUS +EXPIRES$/m);
    expect(table.stdout).toMatch(/^work +dir +\S+\/work +oauth +healthy +in 7h 59m$/m);
    expect(table.stdout).toMatch(/^empty +dir +\S+\/empty +- +not logged in +-$/m);
    expect((await plugin(sandbox, ["profile", "ls", "-q"], { env })).stdout.split("\n")).toEqual(expect.arrayContaining(["work", "empty"]));
    const json = JSON.parse((await plugin(sandbox, ["profile", "ls", "--json"], { env })).stdout);
    expect(json.filter((r: { kind: string }) => r.kind === "dir").map((r: { profile: string }) => r.profile)).toEqual(["empty", "work"]);
  });

  it("rm needs --force without a terminal, removes the store, refuses what is not a store", async () => {
    const hub = path.join(sandbox.dir, "hub-rm");
    fs.mkdirSync(path.join(hub, "gone"), { recursive: true, mode: 0o700 });
    await seedStore(path.join(hub, "gone"), { ".credentials.json": credentialsText("gone") }, ME);
    fs.mkdirSync(path.join(hub, "notastore"), { mode: 0o700 });
    fs.writeFileSync(path.join(hub, "notastore", "important.txt"), "keep me");
    const env = { CLAUDE_HUB_DIR: hub };
    const noForce = await plugin(sandbox, ["profile", "rm", "gone"], { env });
    expect(noForce.exitCode).toBe(125);
    expect(noForce.stderr).toMatch(/add --force to confirm/);
    expect(fs.existsSync(path.join(hub, "gone"))).toBe(true);
    const refused = await plugin(sandbox, ["profile", "rm", "--force", "notastore"], { env });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/does not look like a claudeauth store/);
    expect(fs.existsSync(path.join(hub, "notastore", "important.txt"))).toBe(true);
    const removed = await plugin(sandbox, ["profile", "rm", "-f", "gone"], { env });
    expect(removed.exitCode, removed.output).toBe(0);
    expect(removed.stdout).toMatch(/removed profile gone/);
    expect(fs.existsSync(path.join(hub, "gone"))).toBe(false);
    const missing = await plugin(sandbox, ["profile", "rm", "-f", "gone"], { env });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/no such profile: gone/);
  });
});

describe("install", () => {
  it("copies the binary into $DOCKER_CONFIG/cli-plugins, 0755, and says so; again is a no-op", async () => {
    const config = path.join(sandbox.dir, "install-config");
    const first = await plugin(sandbox, ["install"], { env: { DOCKER_CONFIG: config } });
    expect(first.exitCode, first.output).toBe(0);
    const target = path.join(config, "cli-plugins", "docker-claudeauth");
    expect(first.stdout).toContain(`installed docker-claudeauth ${VERSION} to ${target}`);
    expect(fs.statSync(target).mode & 0o777).toBe(0o755);
    expect(fs.statSync(target).size).toBe(fs.statSync(path.join(__dirname, "../../dist/docker-claudeauth")).size);
    const via = await plugin(sandbox, ["--config", path.join(sandbox.dir, "install-config-2"), "claudeauth", "install"]);
    expect(via.exitCode).toBe(0);
    expect(fs.existsSync(path.join(sandbox.dir, "install-config-2", "cli-plugins", "docker-claudeauth"))).toBe(true);
  });
});
