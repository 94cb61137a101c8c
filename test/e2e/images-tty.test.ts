// End to end, interactive: `docker claudeauth setup` in a real terminal (tmux). The real
// Claude CLI's first screen comes through, the terminal size (and a resize) reaches the
// container, and Ctrl-C ends the session cleanly with a capture.
import { describe, expect, it, type TestContext } from "vitest";
import { DirStore } from "../../core/store-dir";
import { expectNoTokens } from "../support/tokens";
import { Terminal } from "../support/tmux";
import {
  claudeJson, docker, oauthCredentials, useScratchStores, runSession, sessionInvocation,
  writeLoginScript, type Session, type Via,
} from "../support/images";

const VIA: Via = "plugin";
const WIDTH = 120;
const HEIGHT = 40;

const scratch = useScratchStores("tty");
const newStore = scratch.newStore;

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/** `docker claudeauth setup ...` (or its plain docker run) in a fresh terminal. */
async function interactiveSetup(onTestFinished: TestContext["onTestFinished"], session: Omit<Session, "tty">): Promise<Terminal> {
  const invocation = sessionInvocation("setup", { ...session, tty: true }, VIA);
  const terminal = await Terminal.start(invocation.argv.map(quote).join(" "), { width: WIDTH, height: HEIGHT, env: invocation.env });
  onTestFinished(() => terminal.close());
  return terminal;
}

async function containersOf(store: string): Promise<string> {
  return (await docker(["ps", "-aq", "--filter", `volume=${store}`])).stdout.trim();
}

// Generous timeouts: on a loaded 2-core machine a container with the CLI can take many seconds.
describe.concurrent("interactive setup in a terminal", { timeout: 240_000 }, () => {
  it("shows the real CLI's first screen (no login yet, no network)", async ({ onTestFinished }) => {
    const store = newStore("first-screen");
    const terminal = await interactiveSetup(onTestFinished, { store });
    // Claude Code 2.1.197 with no credentials: its welcome banner, then (no network) the
    // connectivity check's verdict, and it exits.
    const screen = await terminal.waitFor(/Unable to connect to Anthropic services/, 120_000);
    expect(screen).toContain("Welcome to Claude Code v2.1.197");
    const { code, screen: last } = await terminal.exited(60_000);
    expectNoTokens(last);
    expect(code).not.toBe(0);
    expect(new DirStore(store).readCurrentSync()).toBeNull();
    expect(await containersOf(store)).toBe("");
  });

  it("passes the terminal size through, and a resize", async ({ onTestFinished }) => {
    const store = newStore("size");
    // A WINCH may also come when the terminal is attached at its first size (the start-up
    // resize races the script): only a new size ends it.
    const command = ["sh", "-c", 's0=$(stty size); echo "size: $s0"; trap \'s=$(stty size); [ "$s" = "$s0" ] || { echo "resized: $s"; exit 0; }\' WINCH; while :; do sleep 0.1; done'];
    const terminal = await interactiveSetup(onTestFinished, { store, command });
    expect(await terminal.size()).toEqual({ width: WIDTH, height: HEIGHT });
    await terminal.waitFor(new RegExp(`size: ${HEIGHT} ${WIDTH}`), 120_000);
    await terminal.resize(100, 30);
    await terminal.waitFor(/resized: 30 100/, 30_000);
    const { code, screen } = await terminal.exited(60_000);
    expectNoTokens(screen);
    // The command logged nothing in: the plugin says so and fails.
    expect(screen).toMatch(/the login did not complete: nothing was captured/);
    expect(code).toBe(1);
  });

  it("Ctrl-C ends a session cleanly, with a capture, and leaves no container", async ({ onTestFinished }) => {
    const store = newStore("ctrl-c");
    // An earlier (scripted) login, so the CLI starts logged in and the capture has something valid.
    const credentials = oauthCredentials("tty-seed");
    const login = writeLoginScript(scratch.dir(), "login-ctrl-c.sh", { credentials, claudeJson: claudeJson() });
    const seeded = await runSession("setup", { store, mounts: [`${login}:/e2e/login.sh:ro`], command: ["/e2e/login.sh"] }, VIA);
    expect(seeded.exitCode, seeded.stderr).toBe(0);
    const generation = new DirStore(store).currentGeneration()!;

    const terminal = await interactiveSetup(onTestFinished, { store });
    // Logged in, the CLI asks whether to trust the working directory: a full-width dialog.
    const screen = await terminal.waitFor(/Quick safety check/, 120_000);
    expect(screen.split("\n")).toContain("─".repeat(WIDTH));
    // The CLI reads Ctrl-C as a key in raw mode: a first press shows "Press Ctrl-C again to
    // exit" for a moment, a second one within that moment ends it. So: two presses in quick
    // succession, again if the CLI (on a loaded machine) let the moment pass.
    for (let attempt = 0; attempt < 3; attempt++) {
      await terminal.send("C-c");
      await new Promise((resolve) => setTimeout(resolve, 250));
      await terminal.send("C-c");
      try {
        await terminal.waitFor(/\[exit \d+\]/, 15_000);
        break;
      } catch {
        // still running: press twice again
      }
    }
    const { code, screen: final } = await terminal.exited(90_000);
    expectNoTokens(final);
    // The CLI was seeded with the access token only, used it, and made no new login: the
    // store keeps its own credentials (refresh token and all) with the session's .claude.json.
    expect(final).toMatch(/no new login in this session \(login command exited\): the store keeps its login/);
    // The session changed nothing about the login: the plugin says the earlier one is kept.
    expect(final).toMatch(/No new login: profile default keeps its earlier login/);
    expect(code).toBe(0);
    const capture = new DirStore(store).readCurrentSync()!;
    expect(capture.generation, "the session (the CLI updates ~/.claude.json as it starts) left a new capture").toBeGreaterThan(generation);
    expect(capture.credentials).toEqual(credentials);
    expect(await containersOf(store)).toBe("");
  });
});
