// End to end, `docker claudeauth setup` with the real setup image: a scripted login (a shell
// script standing in for `claude`, since the real CLI cannot log in without the internet)
// is captured into a host-dir store, on exit and on `docker stop`, and a broken login never
// replaces a good capture. The plugin runs as an ordinary host user (HOST_USER, 31337).
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { DirStore } from "../../core/store-dir";
import { expectNoTokens } from "../support/tokens";
import {
  HOST_USER, claudeJson, docker, hashTree, oauthCredentials, useScratchStores, runSession,
  startSession, writeLoginScript, type Via,
} from "../support/images";

const VIA: Via = "plugin";
const OWNER = HOST_USER; // the invoking host user: neither root nor 1000
const GRACE_SECONDS = 10;

const scratch = useScratchStores("setup");
const newStore = scratch.newStore;

const loginMount = (script: string) => `${script}:/e2e/login.sh:ro`;

function expectPrivateTree(store: string): void {
  const root = fs.statSync(store);
  expect({ mode: (root.mode & 0o7777).toString(8), owner: `${root.uid}:${root.gid}` }).toEqual({ mode: "700", owner: `${OWNER.uid}:${OWNER.gid}` });
  for (const line of hashTree(store)) {
    const [name, kind, mode, owner] = line.split(" ");
    expect(kind === "dir" || kind === "file", `${name} is a ${kind}`).toBe(true);
    expect({ name, mode, owner }).toEqual({ name, mode: kind === "dir" ? "700" : "600", owner: `${OWNER.uid}:${OWNER.gid}` });
  }
}

// Generous timeouts: on a loaded 2-core machine a container with the CLI can take many seconds.
describe.concurrent("setup image with a scripted login", { timeout: 240_000 }, () => {
  it("captures the login: a valid store, dirs 0700 / files 0600, owned by the host user", async () => {
    const store = newStore("basic");
    const credentials = oauthCredentials("setup-basic");
    const account = claudeJson("basic@example.com");
    const script = writeLoginScript(scratch.dir(), "login-basic.sh", {
      credentials,
      claudeJson: account,
      // What a real session leaves besides the login: user config (captured) and history
      // and per-machine state (never captured).
      after: [
        `printf '{"model":"opus"}\\n' > "$HOME/.claude/settings.json"`,
        `mkdir -p "$HOME/.claude/projects/-home-claude" "$HOME/.claude/todos"`,
        `echo '{}' > "$HOME/.claude/projects/-home-claude/session.jsonl"`,
        `echo '[]' > "$HOME/.claude/todos/t.json"`,
        "exit 0",
      ].join("\n"),
    });
    const result = await runSession("setup", { store, mounts: [loginMount(script)], command: ["/e2e/login.sh"] }, VIA);
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/captured login state into the store/);
    expect(result.stdout).toMatch(/Logged in: profile default is ready/);

    const capture = new DirStore(store).readCurrentSync();
    expect(capture).not.toBeNull();
    expect(capture!.credentials).toEqual(credentials);
    expect(capture!.claudeJson).toEqual(account);
    expect(capture!.meta).toMatchObject({ source: "setup", mode: "oauth" });
    expect(fs.readdirSync(capture!.dir).sort()).toEqual([".claude.json", ".credentials.json", "claudeauth.json", "settings.json"]);
    expectPrivateTree(store);
  });

  it("docker stop in the middle of a session: a valid capture, and the container exits within the grace period", async () => {
    const store = newStore("stopped");
    const credentials = oauthCredentials("setup-stopped");
    // Logged in, then the user leaves the CLI open: `docker stop` ends the session.
    const script = writeLoginScript(scratch.dir(), "login-stopped.sh", { credentials, claudeJson: claudeJson(), after: "echo LOGGED-IN\nexec sleep 300" });
    const session = startSession("setup", { store, mounts: [loginMount(script)], command: ["/e2e/login.sh"] }, VIA);
    await session.waitForOutput(/LOGGED-IN/, 120_000);
    const container = await session.container();
    // No secret is on the container's configuration (command line, environment, labels).
    expectNoTokens((await docker(["inspect", container])).stdout);

    const stop = await docker(["stop", "-t", String(GRACE_SECONDS), container]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    const result = await session.done;
    expectNoTokens(result);
    // Ended by SIGTERM well inside the grace period (not by the SIGKILL at its end), and the
    // plugin reports the captured login.
    expect(stop.ms).toBeLessThan((GRACE_SECONDS - 2) * 1000);
    expect(result.stderr).toMatch(/captured login state into the store \((credentials changed|received SIGTERM|login command exited)/);
    expect(result.stdout).toMatch(/Logged in: profile default is ready/);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(new DirStore(store).readCurrentSync()!.credentials).toEqual(credentials);
    expectPrivateTree(store);
    expect((await docker(["ps", "-aq", "--filter", `id=${container}`])).stdout.trim()).toBe("");
  });

  it("docker stop while the CLI is still writing: what it writes on SIGTERM is the capture", async () => {
    const store = newStore("stopped-late");
    const first = oauthCredentials("setup-first");
    const last = oauthCredentials("setup-last");
    // Like the CLI refreshing or finishing a login as it shuts down: new credentials after SIGTERM.
    const late = writeLoginScript(scratch.dir(), "late-part.sh", { credentials: last, after: "exit 0" });
    const script = writeLoginScript(scratch.dir(), "login-stopped-late.sh", {
      credentials: first,
      claudeJson: claudeJson(),
      after: `trap 'sh /e2e/late.sh; exit 0' TERM\necho LOGGED-IN\nsleep 300 &\nwait $!`,
    });
    const session = startSession("setup", { store, mounts: [loginMount(script), `${late}:/e2e/late.sh:ro`], command: ["/e2e/login.sh"] }, VIA);
    await session.waitForOutput(/LOGGED-IN/, 120_000);
    // The first credentials are captured as soon as they appear, before any signal.
    const capturedFirst = () => new DirStore(store).readCurrentSync()?.credentials?.claudeAiOauth.accessToken === first.claudeAiOauth.accessToken;
    for (const deadline = Date.now() + 30_000; !capturedFirst() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(capturedFirst(), "the watcher captured the first credentials").toBe(true);
    const stop = await docker(["stop", "-t", String(GRACE_SECONDS), await session.container()]);
    const result = await session.done;
    expectNoTokens(result);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.ms).toBeLessThan((GRACE_SECONDS - 2) * 1000);
    expect(new DirStore(store).readCurrentSync()!.credentials).toEqual(last);
    expectPrivateTree(store);
  });

  it("a login that leaves an empty .credentials.json keeps the earlier capture and says so", async () => {
    const store = newStore("empty");
    const good = oauthCredentials("setup-good");
    const goodScript = writeLoginScript(scratch.dir(), "login-good.sh", { credentials: good, claudeJson: claudeJson() });
    const first = await runSession("setup", { store, mounts: [loginMount(goodScript)], command: ["/e2e/login.sh"] }, VIA);
    expect(first.exitCode, first.stderr).toBe(0);
    const before = hashTree(store);

    const emptyScript = writeLoginScript(scratch.dir(), "login-empty.sh", { credentials: "" });
    const result = await runSession("setup", { store, mounts: [loginMount(emptyScript)], command: ["/e2e/login.sh"] }, VIA);
    expectNoTokens(first, result);
    // The entrypoint says why, the plugin says what the user still has; it is not a success.
    expect(result.stderr).toMatch(/not captured .*\.credentials\.json is empty.*the earlier capture is kept/);
    expect(result.stderr).toMatch(/the login did not complete; the earlier capture is kept \(#\d+ /);
    expect(result.stderr).not.toMatch(/captured login state into the store/);
    expect(result.exitCode).not.toBe(0);
    expect(hashTree(store)).toEqual(before);
    expect(new DirStore(store).readCurrentSync()!.credentials).toEqual(good);
  });
});
