// Attack 10 of issue 8, names: everything a container or a store chose (file names above
// all) reaches the terminal escaped. A name like ESC]0;pwned BEL retitles the terminal,
// ESC[2J clears it, U+202E reverses the text after it. Both compiled binaries print through
// one path (core/output.ts): printable Unicode stays readable, controls become \x1b, \u202e.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { binary, runEntrypoint, type Result } from "../support/entrypoint";
import { claudeJsonText, credentialsText, currentCapture, loginScript, makeHome, tempRoot, writeScript } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";
import { canRunEntrypointTests, STORE_OWNER, TEST_USER } from "../support/test-user";

const OWNER = `${STORE_OWNER.uid}:${STORE_OWNER.gid}`;
// Any C0 control but tab and newline, DEL, C1, the bidi and line-breaking format characters.
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

function expectNoRawControls(result: Result): void {
  for (const [stream, text] of [["stdout", result.stdout], ["stderr", result.stderr]] as const) {
    const bytes = Buffer.from(text, "utf8");
    expect(bytes.includes(0x1b), `${stream} holds a raw ESC byte`).toBe(false);
    expect(bytes.includes(0x07), `${stream} holds a raw BEL byte`).toBe(false);
    expect(RAW_CONTROL.exec(text), `${stream} holds a raw control character`).toBeNull();
  }
}

describe.runIf(canRunEntrypointTests())("names from a container are printed escaped (issue 8, attack 10)", () => {
  it("setup warnings and the status listing show escape sequences in file names as visible escapes", async () => {
    const root = tempRoot();
    const home = makeHome(root);
    const store = path.join(root, "store");
    // The login plants hostile names among its agents: two that are skipped with a warning
    // naming them (a symlink, a FIFO) and two regular files that are captured into the store.
    const plant = [
      'a="$HOME/.claude/agents"; mkdir -p "$a"',
      `ln -s /etc/shadow "$a/$(printf '\\033]0;pwned\\007')"`,
      `mkfifo "$a/$(printf '\\033[2J')"`,
      `echo hi > "$a/$(printf '\\033[31mred.md')"`,
      `echo hi > "$a/$(printf 'evil\\342\\200\\256dm.txt')"`,
      `echo hi > "$a/café-résumé-日本.md"`,
    ].join("\n");
    const login = writeScript(path.join(root, "bin"), "login", loginScript({ credentials: credentialsText("names"), claudeJson: claudeJsonText(), after: `${plant}\nexit 0` }));

    const setup = await runEntrypoint(["setup", "--store", store, "--user", TEST_USER, "--owner", OWNER, "--", login], { home });
    expectNoTokens(setup);
    expect(setup.status, setup.stderr).toBe(0);
    expectNoRawControls(setup);
    expect(setup.stderr).toContain("warn: skipped ~/.claude/agents/\\x1b]0;pwned\\x07: is a symlink (not followed)");
    expect(setup.stderr).toContain("warn: skipped ~/.claude/agents/\\x1b[2J: is a FIFO");

    // The regular files are legitimate names on Linux: captured as they are, listed escaped.
    const capture = currentCapture(store)!;
    const status = await runEntrypoint(["status", "--store", store], { binary: binary("docker-claudeauth") });
    expectNoTokens(status);
    expectNoRawControls(status);
    const agents = `captures/${path.basename(capture.dir)}/agents`;
    expect(status.stdout).toContain(`${agents}/\\x1b[31mred.md`);
    expect(status.stdout).toContain(`${agents}/evil\\u202edm.txt`);
    expect(status.stdout).toContain(`${agents}/café-résumé-日本.md`); // printable Unicode stays readable

    // The JSON form stays valid JSON and keeps the real names.
    const json = await runEntrypoint(["status", "--store", store, "--json"], { binary: binary("docker-claudeauth") });
    expectNoRawControls(json);
    const files: string[] = JSON.parse(json.stdout).files.map((f: { path: string }) => f.path);
    expect(files).toContain(`${agents}/\x1b[31mred.md`);
    expect(files).toContain(`${agents}/evil\u202edm.txt`);
  });
});
