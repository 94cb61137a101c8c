import crypto from "node:crypto";
import { execa } from "execa";
import { scanOutput } from "./token-scan";

// A real terminal for interactive tests: a detached tmux session on a server of its own
// (its own socket, no user config), a shell command in its only pane, keys sent in and the
// screen read back with capture-pane. The command's exit status is printed into the pane as
// "[exit N]" and the pane stays open, so a test can read the last screen and the status.

export type TerminalOptions = {
  width?: number;
  height?: number;
  env?: Record<string, string>;
  cwd?: string;
};

const EXIT_MARK = /\[exit (\d+)\]/;
const HISTORY_LINES = 1_000_000;

export class Terminal {
  private constructor(
    readonly socket: string,
    readonly session: string,
  ) {}

  static async start(command: string, options: TerminalOptions = {}): Promise<Terminal> {
    const id = crypto.randomBytes(4).toString("hex");
    const terminal = new Terminal(`claudeauth-e2e-${process.pid}-${id}`, `t${id}`);
    const env = Object.entries(options.env ?? {}).flatMap(([name, value]) => ["-e", `${name}=${value}`]);
    // The pane's shell ignores Ctrl-C and friends (the command, in a subshell, gets them as
    // usual), so a key that arrives after the command must not end the pane and the server.
    const wrapped = `trap '' INT QUIT TSTP; (trap - INT QUIT TSTP; ${command}); printf '\\n[exit %s]\\n' "$?"; exec sleep 3600`;
    // A scrollback long enough for the whole session: close() scans all of it for tokens.
    await terminal.tmux([
      "set-option", "-g", "history-limit", String(HISTORY_LINES), ";",
      "new-session", "-d", "-s", terminal.session,
      "-x", String(options.width ?? 120), "-y", String(options.height ?? 40),
      ...(options.cwd ? ["-c", options.cwd] : []),
      ...env,
      "sh", "-c", wrapped,
    ]);
    // No status line: the pane is the whole window, so its size is exactly width x height.
    await terminal.tmux(["set-option", "-t", terminal.session, "status", "off"]);
    return terminal;
  }

  private async tmux(args: string[]): Promise<string> {
    const result = await execa("tmux", ["-L", this.socket, "-f", "/dev/null", ...args], { reject: false, stdin: "ignore" });
    if (result.exitCode !== 0) throw new Error(`tmux ${args[0]} failed: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** Keys as tmux names them ("C-c", "Enter", "Escape") or literal text with `literal`. */
  async send(keys: string, literal = false): Promise<void> {
    await this.tmux(["send-keys", "-t", this.session, ...(literal ? ["-l"] : []), keys]);
  }

  /** The visible screen, one string (trailing blanks trimmed from each line). */
  async screen(): Promise<string> {
    const text = await this.tmux(["capture-pane", "-p", "-J", "-t", this.session, "-S", "-200"]);
    return text.split("\n").map((line) => line.trimEnd()).join("\n").replace(/\n+$/, "");
  }

  async size(): Promise<{ width: number; height: number }> {
    const [width, height] = (await this.tmux(["display-message", "-p", "-t", this.session, "#{pane_width} #{pane_height}"])).trim().split(" ").map(Number);
    return { width: width!, height: height! };
  }

  async resize(width: number, height: number): Promise<void> {
    await this.tmux(["resize-window", "-t", this.session, "-x", String(width), "-y", String(height)]);
  }

  /** Waits until the screen matches; throws with the last screen when it does not in time. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    for (;;) {
      screen = await this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the terminal did not show ${pattern} within ${timeoutMs} ms; it shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Waits for the command to end; its exit status and the final screen. */
  async exited(timeoutMs = 30_000): Promise<{ code: number; screen: string }> {
    const screen = await this.waitFor(EXIT_MARK, timeoutMs);
    return { code: Number(EXIT_MARK.exec(screen)![1]), screen };
  }

  /** Everything the pane ever showed, scrollback included, wrapped lines joined. */
  async scrollback(): Promise<string> {
    return this.tmux(["capture-pane", "-p", "-J", "-t", this.session, "-S", "-", "-E", "-"]);
  }

  /** Scans the whole scrollback for tokens (test/support/token-scan.ts), then ends the server. */
  async close(): Promise<void> {
    const all = await this.scrollback().catch(() => null);
    if (all !== null) scanOutput(`tmux pane ${this.session}`, all);
    await execa("tmux", ["-L", this.socket, "kill-server"], { reject: false, stdin: "ignore" });
  }
}
