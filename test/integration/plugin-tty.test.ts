// The plugin in a real terminal (tmux): setup --long-lived gets a terminal in the container
// (wide, so the token is printed on one line), the token is captured and never shown; run
// gets -it. The interactive login itself is covered by test/e2e/images-tty.test.ts.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trackSecret } from "../support/token-scan";
import { seedStore, credentialsText } from "../support/fixtures";
import { Terminal } from "../support/tmux";
import { expectNoTokens } from "../support/tokens";
import { ensureImages, makeSandbox, PLUGIN, scriptsDir, writeScript, type Sandbox } from "../support/docker";

let sandbox: Sandbox;
let scripts: string;
const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

beforeAll(async () => {
  await ensureImages();
  sandbox = makeSandbox("tty");
  scripts = scriptsDir(sandbox);
});
afterAll(async () => {
  await sandbox?.cleanup();
});

async function inTerminal(args: string[], onFinished: (fn: () => Promise<void>) => void, cwd?: string): Promise<Terminal> {
  const env = Object.entries(sandbox.env).map(([k, v]) => `${k}=${quote(v)}`).join(" ");
  const terminal = await Terminal.start(`env -i ${env} ${[PLUGIN, ...args].map(quote).join(" ")}`, { width: 100, height: 40, ...(cwd ? { cwd } : {}) });
  onFinished(() => terminal.close());
  return terminal;
}

describe("in a terminal", { timeout: 180_000 }, () => {
  it("setup --long-lived: a terminal in the container, 500 columns wide; the token is captured, the screen shows it redacted", async ({ onTestFinished }) => {
    const token = `sk-ant-oat01-${"t".repeat(40)}${"T".repeat(40)}-tty-AA`;
    trackSecret(token);
    writeScript(scripts, "setup-token.sh", `test -t 0 && test -t 1 && echo "terminal: $(stty size)"\nprintf 'Your OAuth token (valid for 1 year):\\n\\n  %s\\n\\nStore this token securely.\\n' '${token}'\n`);
    const terminal = await inTerminal(["setup", "--profile", "ttyll", "--long-lived", "--network", "none", "-v", `${scripts}:/scripts:ro`, "--", "/scripts/setup-token.sh"], onTestFinished);
    const { code, screen } = await terminal.exited(150_000);
    expect(code, screen).toBe(0);
    expect(screen).toContain("terminal: 50 500");
    expect(screen).toContain("sk-ant-oat01-[REDACTED]");
    expect(screen).toMatch(/Mode: +long-lived token/);
    expectNoTokens(screen);
    const captures = path.join(sandbox.hub, "ttyll", "captures");
    const newest = fs.readdirSync(captures).sort().pop()!;
    expect(fs.readFileSync(path.join(captures, newest, "oauth-token"), "utf8").trim()).toBe(token);
  });

  it("run: the workload gets a terminal of the right size; its exit code comes back", async ({ onTestFinished }) => {
    const store = path.join(sandbox.hub, "ttyrun");
    fs.mkdirSync(store, { recursive: true, mode: 0o700 });
    await seedStore(store, { ".credentials.json": credentialsText("ttyrun") }, { uid: process.getuid!(), gid: process.getgid!() });
    const terminal = await inTerminal(["run", "--profile", "ttyrun", "--network", "none", "--no-workspace", "--", "sh", "-c", 'test -t 0 && echo "tty $(stty size)"; exit 3'], onTestFinished);
    const { code, screen } = await terminal.exited(150_000);
    expect(screen).toMatch(/tty 40 100/);
    expect(code).toBe(3);
    expectNoTokens(screen);
  });
});
