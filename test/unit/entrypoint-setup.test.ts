import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startEntrypoint, runEntrypoint, waitFor, type Result } from "../support/entrypoint";
import {
  claudeJsonText,
  credentialsText,
  currentCapture,
  currentCredentialsText,
  loginScript,
  makeHome,
  seedStore,
  snapshotTree,
  tempRoot,
  waitForFile,
  writeLoginShell,
  writeScript,
  writeTree,
} from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { canRunEntrypointTests, STORE_OWNER, TEST_USER } from "../support/test-user";

// Setup mode of the COMPILED entrypoint, as a process (no Docker): a scripted login writes
// credentials the way the Claude CLI does, and the entrypoint captures them into the store.
const OWNER = `${STORE_OWNER.uid}:${STORE_OWNER.gid}`;

function setupArgs(store: string, command: string[]): string[] {
  return ["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", ...command];
}

function world() {
  const root = tempRoot();
  const home = makeHome(root);
  return { root, home, store: path.join(root, "store"), bin: path.join(root, "bin") };
}

function checked(result: Result): Result {
  expectNoTokens(result);
  return result;
}

const signalNumber = (signal: NodeJS.Signals) => os.constants.signals[signal];

describe.runIf(canRunEntrypointTests())("setup mode: when the login is captured", () => {
  it("captures as soon as credentials appear, while the login command still runs, and not again while they stay the same", async () => {
    const { root, home, store, bin } = world();
    const b = credentialsText("appear");
    const login = writeScript(bin, "login", loginScript({ credentials: b, claudeJson: claudeJsonText(), after: waitForFile(path.join(root, "stop")) }));
    const handle = startEntrypoint(setupArgs(store, [login]), { home });

    await waitFor(() => currentCredentialsText(store) === b, 10_000, "a capture while the login runs");
    expect(handle.child.exitCode).toBeNull(); // the command is still running
    const first = currentCapture(store)!;
    expect(first.meta.source).toBe("setup");
    expect(first.claudeJson?.hasCompletedOnboarding).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, 700)); // a few watch intervals
    expect(currentCapture(store)!.generation).toBe(first.generation);

    fs.writeFileSync(path.join(root, "stop"), "");
    const result = checked(await handle.result);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^claudeauth: captured login state into the store \(credentials changed, capture 1\)$/m);
    // The capture on exit finds the same login: it is not stored a second time.
    expect(result.stderr).toMatch(/^claudeauth: captured login state into the store \(login command exited, capture 1\)$/m);
    expect(currentCapture(store)!.generation).toBe(1);
    expect(currentCredentialsText(store)).toBe(b);
    expect(fs.readdirSync(home).includes(".claude")).toBe(true);
  });

  it("captures again when the credentials change during the login (the CLI refreshed)", async () => {
    const { root, home, store, bin } = world();
    const b = credentialsText("before-refresh");
    const c = credentialsText("after-refresh");
    const login = writeScript(
      bin,
      "login",
      loginScript({
        credentials: b,
        claudeJson: claudeJsonText(),
        after: [waitForFile(path.join(root, "go")), writeLoginShell({ credentials: c }), waitForFile(path.join(root, "stop"))].join("\n"),
      }),
    );
    const handle = startEntrypoint(setupArgs(store, [login]), { home });
    await waitFor(() => currentCredentialsText(store) === b, 10_000, "the first login");
    fs.writeFileSync(path.join(root, "go"), "");
    await waitFor(() => currentCredentialsText(store) === c, 10_000, "the refreshed login");
    expect(handle.child.exitCode).toBeNull();
    fs.writeFileSync(path.join(root, "stop"), "");
    expect(checked(await handle.result).status).toBe(0);
    expect(currentCredentialsText(store)).toBe(c);
  });

  it("captures when the login command exits right after writing the credentials", async () => {
    const { home, store, bin } = world();
    const b = credentialsText("exit");
    const login = writeScript(bin, "login", loginScript({ credentials: b, claudeJson: claudeJsonText(), after: "exit 0" }));
    const result = checked(await runEntrypoint(setupArgs(store, [login]), { home }));
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/captured login state into the store \(login command exited, capture \d\)/);
    expect(currentCredentialsText(store)).toBe(b);
  });

  it("captures the CLAUDE_CONFIG_DIR layout (.claude.json inside that dir)", async () => {
    const { home, store, bin } = world();
    const b = credentialsText("configdir");
    const account = claudeJsonText("configdir@example.com");
    const login = writeScript(bin, "login", loginScript({ credentials: b, claudeJson: account, configDirLayout: true }));
    const result = checked(await runEntrypoint(setupArgs(store, [login]), { home, env: { CLAUDE_CONFIG_DIR: "/home/claudetest/custom-config" } }));
    expect(result.status).toBe(0);
    const capture = currentCapture(store)!;
    expect(fs.readFileSync(path.join(capture.dir, ".credentials.json"), "utf8")).toBe(b);
    expect(fs.readFileSync(path.join(capture.dir, ".claude.json"), "utf8")).toBe(account);
  });

  it("a second setup starts from the previous capture: the home is seeded (without the refresh token), the login may keep it", async () => {
    const { home, store, bin } = world();
    const a = credentialsText("previous");
    await seedStore(store, { ".credentials.json": a, ".claude.json": claudeJsonText(), "CLAUDE.md": "# mine\n" });
    const check = writeScript(bin, "check", `test -f "$HOME/.claude/.credentials.json" && test -f "$HOME/.claude.json" && test -f "$HOME/.claude/CLAUDE.md" || exit 9\n`);
    const result = checked(await runEntrypoint(setupArgs(store, [check]), { home }));
    expect(result.status).toBe(0);
    // Seeded with the access token only: the refresh token is the store's to spend, under its lock.
    const seeded = JSON.parse(fs.readFileSync(path.join(home, ".claude", ".credentials.json"), "utf8"));
    expect(seeded).toEqual({ ...JSON.parse(a), claudeAiOauth: { ...JSON.parse(a).claudeAiOauth, refreshToken: "" } });
    expect(fs.statSync(path.join(home, ".claude", ".credentials.json")).uid).toBe(23001);
    expect(currentCredentialsText(store)).toBe(a);
  });
});

describe.runIf(canRunEntrypointTests())("setup mode: signals sent to the entrypoint", () => {
  const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

  it.each(SIGNALS)("%s: the command traps it and exits 7; the login is captured; the exit code is the command's", async (signal) => {
    const { home, store, bin } = world();
    const b = credentialsText(`trap-${signal}`);
    const name = signal.slice(3);
    const login = writeScript(
      bin,
      "login",
      loginScript({ before: `trap 'exit 7' ${name}`, credentials: b, claudeJson: claudeJsonText(), after: `touch "$HOME/.ready"\nwhile :; do sleep 0.02; done` }),
    );
    const handle = startEntrypoint(setupArgs(store, [login]), { home });
    await waitFor(() => fs.existsSync(path.join(home, ".ready")), 10_000, "the login to finish writing");
    handle.kill(signal);
    const result = checked(await handle.result);
    expect(result.status).toBe(7);
    expect(currentCredentialsText(store)).toBe(b);
    expect(result.stderr).toMatch(new RegExp(`captured login state into the store \\((received ${signal}|credentials changed), capture 1\\)`));
  });

  it.each(SIGNALS)("%s: the command ignores it and goes on; the login is captured meanwhile; the exit code is the command's", async (signal) => {
    const { root, home, store, bin } = world();
    const b = credentialsText(`ignore-${signal}`);
    const login = writeScript(
      bin,
      "login",
      loginScript({ before: `trap '' ${signal.slice(3)}`, credentials: b, claudeJson: claudeJsonText(), after: `touch "$HOME/.ready"\n${waitForFile(path.join(root, "stop"))}\nexit 4` }),
    );
    const handle = startEntrypoint(setupArgs(store, [login]), { home });
    await waitFor(() => fs.existsSync(path.join(home, ".ready")), 10_000, "the login to finish writing");
    handle.kill(signal);
    await waitFor(() => currentCredentialsText(store) === b, 10_000, "the capture");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(handle.child.exitCode).toBeNull(); // neither the command nor the entrypoint stopped
    fs.writeFileSync(path.join(root, "stop"), "");
    const result = checked(await handle.result);
    expect(result.status).toBe(4);
    expect(currentCredentialsText(store)).toBe(b);
  });

  it.each(SIGNALS)("%s: the command dies of it; the login is captured; the exit code is 128+N", async (signal) => {
    const { home, store, bin } = world();
    const b = credentialsText(`die-${signal}`);
    const login = writeScript(bin, "login", loginScript({ credentials: b, claudeJson: claudeJsonText(), after: `touch "$HOME/.ready"\nexec sleep 30` }));
    const handle = startEntrypoint(setupArgs(store, [login]), { home });
    await waitFor(() => fs.existsSync(path.join(home, ".ready")), 10_000, "the login to finish writing");
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the script reach `exec sleep`
    handle.kill(signal);
    const result = checked(await handle.result);
    expect(result.status).toBe(128 + signalNumber(signal));
    expect(result.signal).toBeNull(); // the entrypoint exits with the code; it is not killed itself
    expect(currentCredentialsText(store)).toBe(b);
  });

  it.each(SIGNALS)("%s arriving a moment after the login renamed its credentials into place (before a poll could see them): still captured", async (signal) => {
    const { home, store, bin } = world();
    const b = credentialsText(`quick-${signal}`);
    const claudeDir = path.join(home, ".claude");
    fs.mkdirSync(claudeDir, { mode: 0o700 });
    fs.chownSync(claudeDir, 23001, 23001);
    const login = writeScript(bin, "login", loginScript({ before: "sleep 0.2", credentials: b, claudeJson: claudeJsonText(), after: "exec sleep 30" }));
    const renamed = new Promise<void>((resolve) => {
      const watcher = fs.watch(claudeDir, (_event, name) => {
        if (name === ".credentials.json" && fs.existsSync(path.join(claudeDir, name))) {
          watcher.close();
          resolve();
        }
      });
    });
    const handle = startEntrypoint(setupArgs(store, [login]), { home });
    await renamed;
    handle.kill(signal);
    const result = checked(await handle.result);
    expect(result.status).toBe(128 + signalNumber(signal));
    expect(currentCredentialsText(store)).toBe(b);
    expect(result.stderr).toMatch(/captured login state into the store \((received SIG[A-Z]+|credentials changed), capture 1\)/);
  });
});

describe.runIf(canRunEntrypointTests())("setup mode: exit codes", () => {
  it.each([
    ["the command's own code", (bin: string) => [writeScript(bin, "fail", "exit 42\n")], 42, null],
    ["127 when the command is not found", () => ["no-such-command-xyz"], 127, /command not found: no-such-command-xyz/],
    ["126 when it is not executable", (bin: string) => [notExecutable(bin)], 126, /plain is not executable: chmod \+x it/],
  ] as const)("%s", async (_what, command, status, message) => {
    const { home, store, bin } = world();
    const result = checked(await runEntrypoint(setupArgs(store, command(bin) as string[]), { home }));
    expect(result.status).toBe(status);
    if (message) {
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n").filter((l) => /error:/.test(l))).toHaveLength(1);
    }
  });

  it.each([
    ["an unknown mode", ["login"], /unknown mode "login"/],
    ["an unknown option", ["setup", "--frobnicate"], /unknown option "--frobnicate"/],
    ["a flag without its value", ["setup", "--store"], /--store needs a value/],
    ["a malformed --owner", ["setup", "--store", "/nonexistent/s", "--owner", "me"], /--owner must be UID:GID/],
    ["a malformed duration", ["health", "--min-validity", "soon"], /invalid duration "soon"/],
  ])("125 for a usage error: %s, in one line", async (_what, args, message) => {
    const result = checked(await runEntrypoint(args));
    expect(result.status).toBe(125);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("--help prints the usage and exits 0", async () => {
    const result = checked(await runEntrypoint(["--help"]));
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: claudeauth-entrypoint MODE/);
  });
});

describe.runIf(canRunEntrypointTests())("setup mode: what is captured, and how it is stored", () => {
  it("stores dirs 0700 and files 0600, all owned by --owner (not root, not the login user)", async () => {
    const { home, store, bin } = world();
    const login = writeScript(bin, "login", loginScript({ credentials: credentialsText("modes"), claudeJson: claudeJsonText() }));
    writeScriptTree(home);
    const result = checked(await runEntrypoint(setupArgs(store, [login]), { home }));
    expect(result.status).toBe(0);
    const root = fs.statSync(store);
    const entries = [{ path: ".", kind: "dir", mode: root.mode & 0o7777, uid: root.uid, gid: root.gid }, ...snapshotTree(store)];
    expect(entries.some((e) => e.path.endsWith("agents/reviewer.md"))).toBe(true);
    for (const entry of entries) {
      expect(entry.kind === "dir" || entry.kind === "file", entry.path).toBe(true);
      expect(entry.mode, entry.path).toBe(entry.kind === "dir" ? 0o700 : 0o600);
      expect([entry.uid, entry.gid], entry.path).toEqual([STORE_OWNER.uid, STORE_OWNER.gid]);
    }
  });

  it("captures the allow-list only: per-machine state (projects, sessions, todos, statsig, ...) stays behind", async () => {
    const { home, store, bin } = world();
    const login = writeScript(bin, "login", loginScript({ credentials: credentialsText("allow"), claudeJson: claudeJsonText() }));
    writeScriptTree(home);
    const perMachine = ["projects", "sessions", "todos", "statsig", "shell-snapshots", "telemetry", "debug", "ide"];
    for (const dir of perMachine) {
      fs.mkdirSync(path.join(home, ".claude", dir), { recursive: true });
      fs.writeFileSync(path.join(home, ".claude", dir, "state.json"), `{"machine":"${dir}"}`);
    }
    fs.mkdirSync(path.join(home, ".claude", ".oauth_refresh.lock"));
    const result = checked(await runEntrypoint(setupArgs(store, [login]), { home }));
    expect(result.status).toBe(0);
    const capture = currentCapture(store)!;
    expect(fs.readdirSync(capture.dir).sort()).toEqual([".claude.json", ".credentials.json", "CLAUDE.md", "agents", "claudeauth.json", "commands", "settings.json"]);
    expect(fs.readFileSync(path.join(capture.dir, "settings.json"), "utf8")).toBe('{"model":"opus"}\n');
    expect(fs.readFileSync(path.join(capture.dir, "commands", "deploy.md"), "utf8")).toBe("deploy it\n");
  });
});

function notExecutable(bin: string): string {
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, "plain"), "#!/bin/sh\n", { mode: 0o644 });
  return path.join(bin, "plain");
}

/** User config the CLI keeps in ~/.claude besides the auth files. */
function writeScriptTree(home: string): void {
  writeTree(home, {
    ".claude/settings.json": '{"model":"opus"}\n',
    ".claude/CLAUDE.md": "# house rules\n",
    ".claude/agents/reviewer.md": "review things\n",
    ".claude/commands/deploy.md": "deploy it\n",
  });
}
