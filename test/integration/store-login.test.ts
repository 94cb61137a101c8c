// A login in and out of a store, through the compiled plugin on the real engine:
// `setup --from` (a Linux ~/.claude, a seed-style copy, a credentials file, stdin; broken,
// symlinked), `--move`, `logout` and `profile rm`. The same steps run against a host
// directory (in-process) and a Docker volume (the entrypoint's inspect/import/logout modes
// in throw-away containers): the plugin's side of the store spec.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeJsonText, credentialsText, makeCredentials } from "../support/fixtures";
import { docker, ensureImages, makeSandbox, plugin, testVolume, type Sandbox } from "../support/docker";
import type { CredentialsFile } from "../../core/credentials";

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = makeSandbox("store-login");
  await ensureImages();
});
afterAll(async () => {
  await sandbox.cleanup();
});

let count = 0;
/** A credentials JSON file of a fresh login, in a private dir of the sandbox. */
function credentialsFile(label: string, credentials: CredentialsFile = makeCredentials(label)): string {
  const dir = path.join(sandbox.dir, `source-${++count}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  const file = path.join(dir, "credentials.json");
  fs.writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
  return file;
}

const statusJson = async (selection: string[]) => JSON.parse((await plugin(sandbox, ["status", "--json", ...selection])).stdout) as Record<string, any>;

describe.each([
  ["a host directory", (label: string) => ["--store", path.join(sandbox.dir, `store-${label}`)]],
  ["a Docker volume", (label: string) => ["--store-volume", testVolume(label)]],
])("the store spec through the plugin: %s", (_kind, storeArgs) => {
  it("setup --from commits by compare-and-swap, logout keeps the settings and no token, profile rm finds the store", async () => {
    const profile = `spec${++count}`;
    const selection = ["--profile", profile, ...storeArgs(`spec${count}`)];
    const first = await plugin(sandbox, ["setup", ...selection, "--from", credentialsFile("first")]);
    expect(first.exitCode, first.output).toBe(0);
    expect(first.stderr).toMatch(/share one token family/);
    expect(await statusJson(selection)).toMatchObject({ healthy: true, state: "ok", mode: "oauth", capture: { generation: 1, source: "import" } });

    const second = await plugin(sandbox, ["setup", ...selection, "--from", credentialsFile("second")]);
    expect(second.exitCode, second.output).toBe(0);
    expect(await statusJson(selection)).toMatchObject({ healthy: true, capture: { generation: 2 } });

    const out = await plugin(sandbox, ["logout", ...selection]);
    expect(out.exitCode, out.output).toBe(0);
    expect(out.stdout).toContain(`logged out profile ${profile}`);
    expect(out.stdout).toContain("claude.ai → Settings → Claude Code");
    const after = await statusJson(selection);
    expect(after).toMatchObject({ healthy: false, state: "empty", capture: { generation: 3, source: "logout" }, accessToken: null });
    expect(after.problems[0].message).toMatch(/is logged out \(its settings are kept\)/);
    const again = await plugin(sandbox, ["logout", ...selection]);
    expect(again.stdout).toContain("is not logged in");

    if (selection.includes("--store-volume")) {
      // profile rm finds the profile's volume by its label, without --volume.
      const rm = await plugin(sandbox, ["profile", "rm", "--force", profile]);
      expect(rm.exitCode, rm.output).toBe(0);
      expect(rm.stdout).toMatch(/removed profile .* \(volume claudeauth-test-/);
      expect((await docker(["volume", "ls", "--quiet", "--filter", `label=io.claudeauth.profile=${profile}`])).stdout.trim()).toBe("");
    }
  });
});

describe("setup --from", () => {
  const dirStore = (label: string) => path.join(sandbox.dir, `from-${label}`);
  const storeFiles = (store: string) => {
    const captures = path.join(store, "captures");
    const current = fs.readdirSync(captures).filter((n) => /^\d{8}$/.test(n)).sort().pop()!;
    return path.join(captures, current);
  };

  it("a Linux ~/.claude, with its sibling ~/.claude.json and the user settings", async () => {
    const home = path.join(sandbox.dir, "linux-home");
    const claude = path.join(home, ".claude");
    fs.mkdirSync(path.join(claude, "commands"), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(claude, ".credentials.json"), credentialsText("linux"), { mode: 0o600 });
    fs.writeFileSync(path.join(claude, "settings.json"), '{"theme":"dark"}\n');
    fs.writeFileSync(path.join(claude, "commands", "hello.md"), "# hello\n");
    fs.mkdirSync(path.join(claude, "projects"));
    fs.writeFileSync(path.join(claude, "projects", "history.jsonl"), "{}\n");
    fs.writeFileSync(path.join(home, ".claude.json"), claudeJsonText("linux@example.com"));
    const store = dirStore("linux");
    const run = await plugin(sandbox, ["setup", "--store", store, "--from", claude]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/Account: +linux@example.com/);
    expect(run.stderr.split("\n").filter((l) => l.startsWith("warn: "))).toEqual([expect.stringMatching(/share one token family.*--move/)]);
    const capture = storeFiles(store);
    expect(fs.readFileSync(path.join(capture, "settings.json"), "utf8")).toBe('{"theme":"dark"}\n');
    expect(fs.readFileSync(path.join(capture, "commands", "hello.md"), "utf8")).toBe("# hello\n");
    expect(fs.existsSync(path.join(capture, "projects"))).toBe(false); // per-machine state stays behind
  });

  it("a seed-style ~/.claude-hub copy (laid out like ~/.claude, .claude.json inside)", async () => {
    const hub = path.join(sandbox.dir, "seed-hub");
    fs.mkdirSync(hub, { mode: 0o700 });
    fs.writeFileSync(path.join(hub, ".credentials.json"), credentialsText("seed"));
    fs.writeFileSync(path.join(hub, ".claude.json"), claudeJsonText("seed@example.com"));
    const run = await plugin(sandbox, ["setup", "--store", dirStore("seed"), "--from", hub]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/Account: +seed@example.com/);
  });

  it('stdin ("-"), as macOS `security find-generic-password -w` prints the keychain entry', async () => {
    const store = dirStore("stdin");
    const run = await plugin(sandbox, ["setup", "--store", store, "--from", "-"], { input: `${credentialsText("keychain")}\n` });
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/Status: +healthy/);
    const moved = await plugin(sandbox, ["setup", "--store", store, "--from", "-", "--move"], { input: credentialsText("keychain2") });
    expect(moved.exitCode).toBe(125);
    expect(moved.stderr).toMatch(/^error: --move needs a file [^\n]*$/);
  });

  it("a broken file, an empty one, a symlinked source: one-line error, the store unchanged", async () => {
    const store = dirStore("broken");
    expect((await plugin(sandbox, ["setup", "--store", store, "--from", credentialsFile("kept")])).exitCode).toBe(0);
    const before = fs.readFileSync(path.join(storeFiles(store), ".credentials.json"), "utf8");
    const broken = credentialsFile("broken");
    fs.writeFileSync(broken, '{"claudeAiOauth": {"accessToken": "sk-ant-oat01-trunc');
    const empty = credentialsFile("empty");
    fs.writeFileSync(empty, "");
    const link = path.join(sandbox.dir, "linked-claude");
    fs.symlinkSync(path.dirname(credentialsFile("target")), link);
    for (const [source, message, code] of [
      [broken, /is not valid JSON .*nothing was stored/, 1],
      [empty, /\.credentials\.json is empty; nothing was stored/, 1],
      [link, /is a symlink, which claudeauth never follows/, 125],
    ] as const) {
      const run = await plugin(sandbox, ["setup", "--store", store, "--from", source]);
      expect(run.exitCode, run.output).toBe(code);
      expect(run.stderr).toMatch(new RegExp(`^error: [^\\n]*${message.source}[^\\n]*$`));
      expect(run.stdout).toBe("");
    }
    expect(fs.readFileSync(path.join(storeFiles(store), ".credentials.json"), "utf8")).toBe(before);
    expect(fs.readdirSync(path.join(store, "captures"))).toEqual(["00000001"]);
  });

  it("--move blanks the source's refresh token, only after the commit", async () => {
    const credentials = makeCredentials("moved");
    const source = credentialsFile("moved", credentials);
    // A commit that fails (the store path is a file): the source keeps its refresh token.
    const notAStore = path.join(sandbox.dir, "not-a-store");
    fs.writeFileSync(notAStore, "");
    const failed = await plugin(sandbox, ["setup", "--store", notAStore, "--from", source, "--move"]);
    expect(failed.exitCode).not.toBe(0);
    expect(JSON.parse(fs.readFileSync(source, "utf8")).claudeAiOauth.refreshToken).toBe(credentials.claudeAiOauth.refreshToken);

    const store = dirStore("moved");
    const run = await plugin(sandbox, ["setup", "--store", store, "--from", source, "--move"]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stderr).toContain(`blanked the refresh token in ${source}`);
    expect(run.stderr).not.toMatch(/share one token family/);
    const left = JSON.parse(fs.readFileSync(source, "utf8")) as CredentialsFile;
    expect(left.claudeAiOauth).toMatchObject({ accessToken: credentials.claudeAiOauth.accessToken, refreshToken: "" });
    expect(fs.statSync(source).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(fs.readFileSync(path.join(storeFiles(store), ".credentials.json"), "utf8")) as CredentialsFile;
    expect(stored.claudeAiOauth.refreshToken).toBe(credentials.claudeAiOauth.refreshToken);
  });

  it("into a Docker volume: the login travels on stdin to the entrypoint, which commits it there", async () => {
    const volume = testVolume("from");
    const run = await plugin(sandbox, ["setup", "--store-volume", volume, "--from", credentialsFile("volume")]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/Store: +volume claudeauth-test-from-/);
    expect(run.stdout).toMatch(/Status: +healthy/);
  });
});
