import { afterEach, describe, expect, it, vi } from "vitest";
import { containsTokenShape, redact, registerSecret } from "../../core/redact";
import { configureOutput, log, print } from "../../core/output";
import { fakeToken } from "../support/fixtures";
import { expectNoTokens } from "../support/tokens";

// One redaction path for everything either binary prints: registered secrets are replaced
// exactly, and anything shaped like an Anthropic token is replaced even if unknown.
describe("redact", () => {
  it("replaces a registered secret wherever it appears", () => {
    const secret = "opaque-secret-value-1234";
    registerSecret(secret);
    expect(redact(`a ${secret} b ${secret}`)).toBe("a [REDACTED] b [REDACTED]");
    expect(containsTokenShape(`x${secret}y`)).toBe(true);
  });

  it("ignores secrets too short to be one (they would blank ordinary words)", () => {
    registerSecret("short");
    registerSecret("");
    registerSecret(null);
    registerSecret(undefined);
    expect(redact("a short word")).toBe("a short word");
  });

  it.each([
    ["an access token", "sk-ant-oat01-AbCdEfGh_ij-KLMNOP0123456789", "sk-ant-oat01-[REDACTED]"],
    ["a refresh token", "sk-ant-ort01-zzzzzzzzzzzzzzzzzzzzzzzz", "sk-ant-ort01-[REDACTED]"],
    ["an API key", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "sk-ant-api03-[REDACTED]"],
    ["an admin key", "sk-ant-admin01-abcdefghijkl", "sk-ant-admin01-[REDACTED]"],
  ])("replaces %s it never saw, keeping only its kind", (_what, token, shown) => {
    expect(redact(`token=${token}; next`)).toBe(`token=${shown}; next`);
    expect(containsTokenShape(token)).toBe(true);
  });

  it("replaces every token in a text, including inside JSON", () => {
    const a = fakeToken("oat", "json");
    const b = fakeToken("ort", "json");
    const text = JSON.stringify({ claudeAiOauth: { accessToken: a, refreshToken: b } });
    const out = redact(text);
    expect(out).not.toContain(a);
    expect(out).not.toContain(b);
    expect(containsTokenShape(out)).toBe(false);
  });

  it("leaves ordinary text alone", () => {
    const text = "captured login state into the store (login command exited, capture 3); sk-ant is a prefix";
    expect(redact(text)).toBe(text);
    expect(containsTokenShape(text)).toBe(false);
  });

  it("containsTokenShape gives the same answer however often it is asked (no regex state carried over)", () => {
    const text = "sk-ant-oat01-aaaaaaaaaaaaaaaa";
    for (let i = 0; i < 5; i++) expect(containsTokenShape(text)).toBe(true);
    for (let i = 0; i < 5; i++) expect(containsTokenShape("nothing here")).toBe(false);
  });
});

describe("output: the only way either binary prints", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    configureOutput({ prefix: "", quiet: false });
  });

  function captureStreams() {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (out.push(String(chunk)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (err.push(String(chunk)), true));
    return { out, err };
  }

  it("log lines are one line, prefixed, tagged by level and redacted", () => {
    const token = fakeToken("oat", "log");
    const { err } = captureStreams();
    configureOutput({ prefix: "claudeauth: " });
    log.info(`first\n  second ${token}`);
    log.warn("careful");
    log.error(`bad\nthing sk-ant-ort01-neverregistered123`);
    expect(err).toEqual([
      "claudeauth: first second [REDACTED]\n",
      "claudeauth: warn: careful\n",
      "claudeauth: error: bad thing sk-ant-ort01-[REDACTED]\n",
    ]);
    expectNoTokens(err.join(""));
  });

  it("quiet hides info but never warnings or errors", () => {
    const { err } = captureStreams();
    configureOutput({ quiet: true });
    log.info("chatter");
    log.warn("w");
    log.error("e");
    expect(err).toEqual(["warn: w\n", "error: e\n"]);
  });

  it("print writes program output to stdout, redacted, newline-terminated", () => {
    const token = fakeToken("oat", "print");
    const { out } = captureStreams();
    print(`line one\nline two ${token}`);
    print("done\n");
    expect(out).toEqual(["line one\nline two [REDACTED]\n", "done\n"]);
  });
});
