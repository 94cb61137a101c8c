// The binaries echo what a user typed in their error lines; a token pasted where a mode, an
// option or a path goes must come out redacted (core/output.ts is the one way out).
import { describe, expect, it } from "vitest";
import { binary, runEntrypoint } from "../support/entrypoint";
import { fakeToken } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";

const REDACTED = "sk-ant-oat01-[REDACTED]";

describe("a token typed on a command line is never echoed", () => {
  it.each([
    ["the entrypoint, as its mode", (t: string) => [t], `claudeauth: error: unknown mode "${REDACTED}": use one of setup, run, health, refresh, inspect, import, logout, swarm-secret\n`],
    ["the entrypoint, as an option", (t: string) => ["run", `--${t}`], `claudeauth: error: unknown option "--${REDACTED}" (see claudeauth-entrypoint --help)\n`],
  ])("%s", async (_where, argv, stderr) => {
    const token = fakeToken("oat", "typed");
    const result = await runEntrypoint(argv(token));
    expectNoTokens(result);
    expect(result.status).toBe(125);
    expect(result.stderr).toBe(stderr);
  });

  it("the plugin, as its command and in a store path it prints", async () => {
    const token = fakeToken("oat", "typed");
    const plugin = { binary: binary("docker-claudeauth") };
    const command = await runEntrypoint([token], plugin);
    expectNoTokens(command);
    expect(command.status).toBe(125);
    expect(command.stderr).toContain(`unknown command "${REDACTED}"`);
    const status = await runEntrypoint(["status", "--store", `/nonexistent/${token}`], plugin);
    expectNoTokens(status);
    expect(status.status).toBe(1);
    expect(status.stdout).toContain(`Store:   /nonexistent/${REDACTED}`);
  });
});
