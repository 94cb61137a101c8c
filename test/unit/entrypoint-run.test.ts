import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DirStore } from "../../core/store-dir";
import { runEntrypoint, startEntrypoint, waitFor, type Result } from "../support/entrypoint";
import {
  claudeJsonText,
  credentialsText,
  currentCapture,
  seedStore,
  snapshotTree,
  tempRoot,
  writeLoginShell,
  writeScript,
} from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { canRunEntrypointTests, STORE_OWNER, TEST_EXTRA_GID, TEST_GID, TEST_UID, TEST_USER } from "../support/test-user";

// Run mode of the COMPILED entrypoint, as a process (no Docker): a per-run working copy,
// privilege drop, the workload, and write-back of a new login.

const ACCOUNT = claudeJsonText("run@example.com", { projects: { "/other/project": { hasTrustDialogAccepted: true, allowedTools: ["Bash"] } } });

/** What the workload (running as the test user) sees, written to files the test reads. */
const INSPECT = `#!/bin/sh
out="$T_OUT"
{ id -u; id -g; id -G; echo "HOME=$HOME"; echo "USER=$USER"; echo "CONFIG=$CLAUDE_CONFIG_DIR"; echo "PID=$$"; } > "$out/env.txt"
env | grep '^CLAUDEAUTH_' > "$out/claudeauth-env.txt"
grep -E '^Sig(Ign|Blk):' /proc/self/status > "$out/signals.txt"
find "$CLAUDE_CONFIG_DIR" -exec stat -c '%a|%u|%g|%F|%n' {} + > "$out/stat.txt"
stat -c '%a|%u|%g' "$(dirname "$CLAUDE_CONFIG_DIR")" > "$out/parent.txt"
cp -R "$CLAUDE_CONFIG_DIR" "$out/wc"
if ls "$T_STORE" >/dev/null 2>&1; then echo "list-store: allowed"; else echo "list-store: denied"; fi > "$out/access.txt"
if cat "$T_CAPTURED" >/dev/null 2>&1; then echo "read-store: allowed"; else echo "read-store: denied"; fi >> "$out/access.txt"
exit "\${T_EXIT:-0}"
`;

async function world(storeFiles: Record<string, string> | null = {}) {
  const root = tempRoot();
  const store = path.join(root, "store");
  const out = path.join(root, "out");
  const work = path.join(root, "work");
  fs.mkdirSync(out, { mode: 0o700 });
  fs.chownSync(out, TEST_UID, TEST_GID);
  fs.mkdirSync(work, { mode: 0o755 });
  const credentials = credentialsText("run");
  if (storeFiles) await seedStore(store, { ".credentials.json": credentials, ...storeFiles });
  const inspect = writeScript(path.join(root, "bin"), "inspect", INSPECT);
  const captured = storeFiles ? path.join(currentCapture(store)!.dir, ".credentials.json") : "";
  const env = { T_OUT: out, T_STORE: store, T_CAPTURED: captured, CLAUDEAUTH_REFRESH_MARGIN: "15m" };
  return { root, store, out, work, credentials, inspect, env, bin: path.join(root, "bin") };
}

function runArgs(w: { store: string; work: string }, command: string[], extra: string[] = []): string[] {
  return ["run", "--store", w.store, "--user", TEST_USER, "--owner", `${STORE_OWNER.uid}:${STORE_OWNER.gid}`, "--work-dir", w.work, ...extra, "--", ...command];
}

function checked(result: Result): Result {
  expectNoTokens(result);
  return result;
}

const read = (file: string) => fs.readFileSync(file, "utf8");
const lines = (file: string) => read(file).trim().split("\n");

describe.runIf(canRunEntrypointTests())("run mode: the working copy", () => {
  const USER_CONFIG = {
    ".claude.json": ACCOUNT,
    "settings.json": '{"model":"opus"}\n',
    "CLAUDE.md": "# house rules\n",
    "agents/reviewer.md": "review\n",
    "commands/deploy.md": "deploy\n",
    // Never part of a capture made by setup; here to show run mode copies an allow-list too.
    "projects/-work/session.jsonl": '{"history":true}\n',
    "todos/list.json": "[]\n",
  };

  it.each([
    ["supervised", []],
    ["--no-supervise (exec)", ["--no-supervise"]],
  ])("%s: CLAUDE_CONFIG_DIR holds the access token without the refresh token, onboarding done, the dir trusted, the user config; no history", async (_mode, flags) => {
    const w = await world(USER_CONFIG);
    const result = checked(await runEntrypoint(runArgs(w, [w.inspect], [...flags, "--trust", "/work/project"]), { env: w.env }));
    expect(result.status).toBe(0);

    const wc = path.join(w.out, "wc");
    expect(fs.readdirSync(wc).sort()).toEqual([".claude.json", ".credentials.json", "CLAUDE.md", "agents", "commands", "settings.json"]);
    const stored = JSON.parse(w.credentials).claudeAiOauth;
    const handed = JSON.parse(read(path.join(wc, ".credentials.json")));
    expect(handed.claudeAiOauth).toEqual({ ...stored, refreshToken: "" });
    expect(read(path.join(wc, ".credentials.json"))).not.toContain(stored.refreshToken);

    const claudeJson = JSON.parse(read(path.join(wc, ".claude.json")));
    const account = JSON.parse(ACCOUNT);
    expect(claudeJson.hasCompletedOnboarding).toBe(true);
    expect(claudeJson.oauthAccount).toEqual(account.oauthAccount);
    expect(claudeJson.userID).toBe(account.userID);
    expect(claudeJson.projects["/work/project"]).toMatchObject({ hasTrustDialogAccepted: true });
    expect(claudeJson.projects["/other/project"]).toEqual(account.projects["/other/project"]);

    expect(read(path.join(wc, "settings.json"))).toBe('{"model":"opus"}\n');
    expect(read(path.join(wc, "CLAUDE.md"))).toBe("# house rules\n");
    expect(read(path.join(wc, "agents", "reviewer.md"))).toBe("review\n");
    expect(read(path.join(wc, "commands", "deploy.md"))).toBe("deploy\n");
  });

  it("is a private dir owned by the runtime user (dirs 0700, files 0600) in a root-owned 0711 dir in --work-dir, all removed after a supervised run", async () => {
    const w = await world(USER_CONFIG);
    const result = checked(await runEntrypoint(runArgs(w, [w.inspect]), { env: w.env }));
    expect(result.status).toBe(0);
    const config = lines(path.join(w.out, "env.txt")).find((l) => l.startsWith("CONFIG="))!.slice(7);
    expect(path.dirname(path.dirname(config))).toBe(w.work);
    expect(read(path.join(w.out, "parent.txt")).trim()).toBe("711|0|0");
    const stats = lines(path.join(w.out, "stat.txt")).map((l) => l.split("|"));
    expect(stats.map((s) => s[4])).toContain(config);
    expect(stats.length).toBeGreaterThanOrEqual(9);
    for (const [mode, uid, gid, kind, name] of stats) {
      expect([uid, gid], name).toEqual([String(TEST_UID), String(TEST_GID)]);
      expect([kind, mode], name).toEqual(kind === "directory" ? ["directory", "700"] : ["regular file", "600"]);
    }
    expect(fs.existsSync(config)).toBe(false);
    expect(fs.readdirSync(w.work)).toEqual([]);
  });

  it("a --work-dir the workload could rearrange (group or world writable without the sticky bit) is refused in one line", async () => {
    const w = await world({});
    fs.chmodSync(w.work, 0o777);
    const result = checked(await runEntrypoint(runArgs(w, ["true"]), { env: w.env }));
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`claudeauth: error: the work dir ${w.work} must be a directory owned by root that others cannot rearrange (mode 0755, or 1777 on a tmpfs): fix it or set CLAUDEAUTH_WORK_DIR\n`);
  });

  it("defaults to a tmpfs (/dev/shm) and to trusting the working directory", async () => {
    const w = await world({});
    const cwd = path.join(w.root, "project");
    fs.mkdirSync(cwd);
    const args = runArgs(w, [w.inspect]).filter((a, i, all) => a !== "--work-dir" && all[i - 1] !== "--work-dir");
    const result = checked(await runEntrypoint(args, { env: w.env, cwd }));
    expect(result.status).toBe(0);
    const config = lines(path.join(w.out, "env.txt")).find((l) => l.startsWith("CONFIG="))!.slice(7);
    expect(config).toMatch(/^\/dev\/shm\/claudeauth-/);
    const claudeJson = JSON.parse(read(path.join(w.out, "wc", ".claude.json")));
    expect(claudeJson.projects[cwd]).toMatchObject({ hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true });
    expect(claudeJson.hasCompletedOnboarding).toBe(true); // generated: the store had no .claude.json
    expect(fs.existsSync(path.dirname(config))).toBe(false);
  });
});

describe.runIf(canRunEntrypointTests())("run mode: privilege drop", () => {
  it.each([
    ["supervised", []],
    ["--no-supervise (exec)", ["--no-supervise"]],
  ])("%s: the workload runs as the runtime user with its groups, cannot list or read the store, gets no CLAUDEAUTH_* settings", async (_mode, flags) => {
    const w = await world({});
    const result = checked(await runEntrypoint(runArgs(w, [w.inspect], flags), { env: w.env }));
    expect(result.status).toBe(0);
    const env = lines(path.join(w.out, "env.txt"));
    expect(env[0]).toBe(String(TEST_UID));
    expect(env[1]).toBe(String(TEST_GID));
    expect(env[2]!.split(" ").map(Number).sort()).toEqual([TEST_GID, TEST_EXTRA_GID].sort());
    expect(env).toContain("HOME=/home/claudetest");
    expect(env).toContain(`USER=${TEST_USER}`);
    expect(lines(path.join(w.out, "access.txt"))).toEqual(["list-store: denied", "read-store: denied"]);
    expect(read(path.join(w.out, "claudeauth-env.txt"))).toBe("");
    // The store is really there and readable to root: the denial is the privilege drop.
    expect(fs.existsSync(w.env.T_CAPTURED)).toBe(true);
  });

  it.each([
    ["supervised", []],
    ["--no-supervise (exec)", ["--no-supervise"]],
  ])("%s: the workload starts with default signal dispositions (Node's ignored SIGPIPE does not leak into it)", async (_mode, flags) => {
    const w = await world({});
    const result = checked(await runEntrypoint(runArgs(w, [w.inspect], flags), { env: w.env }));
    expect(result.status).toBe(0);
    expect(lines(path.join(w.out, "signals.txt"))).toEqual(["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"]);
    const pipe = checked(await runEntrypoint(runArgs(w, ["sh", "-c", "yes | head -n 1; echo done"], flags), { env: w.env }));
    expect(pipe.stdout).toBe("y\ndone\n");
    expect(pipe.stderr).not.toMatch(/Broken pipe/);
  });

  it("a numeric runtime user that /etc/passwd does not know: that uid, only its own group, a home inside the working copy", async () => {
    const w = await world({});
    fs.chmodSync(w.out, 0o777);
    const args = runArgs(w, [w.inspect]).map((a) => (a === TEST_USER ? "4242" : a));
    const result = checked(await runEntrypoint(args, { env: w.env }));
    expect(result.status).toBe(0);
    const env = lines(path.join(w.out, "env.txt"));
    const config = env.find((l) => l.startsWith("CONFIG="))!.slice(7);
    expect(env.slice(0, 3)).toEqual(["4242", "4242", "4242"]);
    expect(env).toContain(`HOME=${config}/home`);
    expect(lines(path.join(w.out, "access.txt"))).toEqual(["list-store: denied", "read-store: denied"]);
  });

  it("--uid/--gid (the host user's ids, for files in a mounted workspace) replace the user's ids and drop its groups", async () => {
    const w = await world({});
    fs.chmodSync(w.out, 0o777);
    const result = checked(await runEntrypoint(runArgs(w, [w.inspect], ["--uid", "5000", "--gid", "5001"]), { env: w.env }));
    expect(result.status).toBe(0);
    expect(lines(path.join(w.out, "env.txt")).slice(0, 3)).toEqual(["5000", "5001", "5001"]);
    expect(lines(path.join(w.out, "access.txt"))).toEqual(["list-store: denied", "read-store: denied"]);
  });

  it("--no-supervise execs: the workload has the entrypoint's pid, no Node process stays resident", async () => {
    const w = await world({});
    const handle = startEntrypoint(runArgs(w, [w.inspect], ["--no-supervise"]), { env: w.env });
    const result = checked(await handle.result);
    expect(result.status).toBe(0);
    expect(lines(path.join(w.out, "env.txt"))).toContain(`PID=${handle.pid}`);
  });

  it("supervised: the workload is a child and the entrypoint waits for it", async () => {
    const w = await world({});
    const handle = startEntrypoint(runArgs(w, [w.inspect]), { env: w.env });
    const result = checked(await handle.result);
    expect(result.status).toBe(0);
    expect(lines(path.join(w.out, "env.txt"))).not.toContain(`PID=${handle.pid}`);
  });
});

describe.runIf(canRunEntrypointTests())("run mode: exit codes and errors", () => {
  it.each([
    ["supervised", []],
    ["--no-supervise", ["--no-supervise"]],
  ])("%s: the command's code, 127 not found, 126 not executable, 128+N killed by a signal", async (_mode, flags) => {
    const w = await world({});
    fs.writeFileSync(path.join(w.bin, "plain"), "#!/bin/sh\n", { mode: 0o644 });
    const cases: [string[], number, RegExp | null][] = [
      [["sh", "-c", "exit 42"], 42, null],
      [["no-such-command-xyz"], 127, /error: command not found: no-such-command-xyz/],
      [[path.join(w.bin, "plain")], 126, /error: .*plain is not executable/],
      [["sh", "-c", "kill -TERM $$"], 143, null],
      [["sh", "-c", "kill -HUP $$"], 129, null],
    ];
    for (const [command, status, message] of cases) {
      const result = checked(await runEntrypoint(runArgs(w, command, flags), { env: w.env }));
      expect(result.status, command.join(" ")).toBe(status);
      if (message) expect(result.stderr).toMatch(message);
    }
  });

  it("supervised: TERM to the entrypoint reaches the workload; exit 143; the working copy is still removed", async () => {
    const w = await world({});
    const script = writeScript(w.bin, "wait", `echo "$CLAUDE_CONFIG_DIR" > "$T_OUT/config"\nexec sleep 30\n`);
    const handle = startEntrypoint(runArgs(w, [script]), { env: w.env });
    const config = await waitFor(() => fs.existsSync(path.join(w.out, "config")) && read(path.join(w.out, "config")).trim(), 10_000, "the workload");
    await new Promise((resolve) => setTimeout(resolve, 50));
    handle.kill("SIGTERM");
    const result = checked(await handle.result);
    expect(result.status).toBe(143);
    expect(fs.existsSync(path.dirname(config))).toBe(false);
  });

  it("a missing store: one line naming the path and the fix, exit 1", async () => {
    const w = await world(null);
    const result = checked(await runEntrypoint(runArgs(w, ["true"]), { env: w.env }));
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`claudeauth: error: no store at ${w.store}: mount one (docker claudeauth run does) or set CLAUDEAUTH_STORE\n`);
  });

  it("an empty store: one line saying to run setup, exit 1", async () => {
    const w = await world(null);
    new DirStore(w.store, STORE_OWNER).ensure();
    const result = checked(await runEntrypoint(runArgs(w, ["true"]), { env: w.env }));
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`claudeauth: error: not logged in: the store at ${w.store} holds no login; run "docker claudeauth setup" first\n`);
  });

  it("an unknown runtime user: one line naming the fix, exit 1", async () => {
    const w = await world({});
    const result = checked(await runEntrypoint([...runArgs(w, ["true"]).slice(0, 3), "--user", "nobody-such-user", "--", "true"], { env: w.env }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^claudeauth: error: runtime user "nobody-such-user" is not in \/etc\/passwd: create it in the image or set CLAUDEAUTH_USER/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe.runIf(canRunEntrypointTests())("run mode: write-back", () => {
  // Adopting a login (--allow-login) needs the token endpoint: see test/security/run-write-back.test.ts.
  it("is off by default: a workload that logs in afresh leaves the store byte-identical, and a one-line warning says how to keep such a login", async () => {
    const w = await world({ ".claude.json": ACCOUNT, "CLAUDE.md": "# keep me\n" });
    const before = snapshotTree(w.store);
    const fresh = credentialsText("relogin");
    const login = writeScript(w.bin, "relogin", `set -e\numask 077\n${writeLoginShell({ credentials: fresh, configDirLayout: true })}\n`);
    const result = checked(await runEntrypoint(runArgs(w, [login]), { env: w.env }));
    expect(result.status).toBe(0);
    expect(result.stderr).toBe("claudeauth: warn: not written back: the workload logged in afresh; pass --allow-login to keep a login made inside a run\n");
    expect(snapshotTree(w.store)).toEqual(before);
  });

  it.each([
    ["does nothing with its credentials", "true"],
    ["rewrites them unchanged (access token only)", `cd "$CLAUDE_CONFIG_DIR" && cp .credentials.json .c.tmp && mv .c.tmp .credentials.json`],
    ["blanks them, as the CLI does after invalid_grant", `printf '{"claudeAiOauth":{"accessToken":"","refreshToken":"","expiresAt":0}}' > "$CLAUDE_CONFIG_DIR/.credentials.json"`],
    ["deletes them (logs out)", `rm -f "$CLAUDE_CONFIG_DIR/.credentials.json"`],
    ["writes garbage", `echo '{"claudeAiOauth":' > "$CLAUDE_CONFIG_DIR/.credentials.json"`],
  ])("a workload that %s leaves the store byte-identical", async (_what, shell) => {
    const w = await world({ ".claude.json": ACCOUNT });
    const before = snapshotTree(w.store);
    const result = checked(await runEntrypoint(runArgs(w, ["sh", "-c", shell]), { env: w.env }));
    expect(result.status).toBe(0);
    expect(result.stderr).not.toMatch(/wrote|written back/);
    expect(snapshotTree(w.store)).toEqual(before);
  });
});
