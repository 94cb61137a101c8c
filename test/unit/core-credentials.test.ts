import { describe, expect, it } from "vitest";
import { parseClaudeJson, parseCredentials, serializeJson, summarize, withoutRefreshToken } from "../../core/credentials";
import { credentialsText, makeCredentials } from "../support/fixtures";

// The credentials schema decides what may replace a good capture: only a file the CLI
// could authenticate with.
describe("parseCredentials: what counts as usable credentials", () => {
  it("accepts the file the CLI writes after a login", () => {
    const text = credentialsText("login");
    const parsed = parseCredentials(text);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.value).toEqual(JSON.parse(text));
  });

  it("accepts credentials without a refresh token (what a workload is handed)", () => {
    expect(parseCredentials(credentialsText("access-only", { refreshToken: null })).ok).toBe(true);
    expect(parseCredentials(credentialsText("blank-refresh", { refreshToken: "" })).ok).toBe(true);
  });

  it.each([
    ["an empty file", "", /is empty/],
    ["a file of blanks", " \n\t\n", /is empty/],
    ["a truncated file", credentialsText("cut").slice(0, 60), /not valid JSON/],
    ["invalid JSON", "{claudeAiOauth: nope}", /not valid JSON/],
    ["JSON null", "null", /unexpected shape/],
    ["an array", "[]", /unexpected shape/],
    ["no claudeAiOauth", JSON.stringify({ somethingElse: {} }), /unexpected shape at "claudeAiOauth"/],
    ["a numeric access token", JSON.stringify({ claudeAiOauth: { accessToken: 42, expiresAt: Date.now() + 1e6 } }), /claudeAiOauth\.accessToken/],
    ["an expiry that is a string", JSON.stringify({ claudeAiOauth: { accessToken: "x", expiresAt: "tomorrow" } }), /claudeAiOauth\.expiresAt/],
  ])("rejects %s, saying why", (_what, text, problem) => {
    const parsed = parseCredentials(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem).toMatch(problem);
      expect(parsed.problem).toMatch(/^\.credentials\.json /);
    }
  });

  it("rejects the blanked file the CLI leaves after invalid_grant (accessToken \"\", expiresAt 0)", () => {
    const blanked = JSON.stringify({ claudeAiOauth: { accessToken: "", refreshToken: "", expiresAt: 0, scopes: [] } });
    const parsed = parseCredentials(blanked);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(/blanked tokens/);
  });

  it("rejects a blank access token even with an expiry, and an expiry of 0 even with a token", () => {
    expect(parseCredentials(JSON.stringify({ claudeAiOauth: { accessToken: "", expiresAt: Date.now() + 1e6 } })).ok).toBe(false);
    expect(parseCredentials(JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-abcdefghij", expiresAt: 0 } })).ok).toBe(false);
  });

  it("accepts an expired access token: expiry is the health check's business, not the schema's", () => {
    expect(parseCredentials(credentialsText("old", { expiresInMs: -3_600_000 })).ok).toBe(true);
  });

  it("keeps fields it does not know, at the top level and inside claudeAiOauth (a newer CLI's additions survive)", () => {
    const text = credentialsText("future", { extra: { mcpOAuth: { server: { token: "x" } } }, oauthExtra: { newField: [1, 2, 3] } });
    const parsed = parseCredentials(text);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.mcpOAuth).toEqual({ server: { token: "x" } });
    expect((parsed.value.claudeAiOauth as Record<string, unknown>).newField).toEqual([1, 2, 3]);
    expect(JSON.parse(serializeJson(parsed.value))).toEqual(JSON.parse(text));
  });

  it("never puts a token in its problem text", () => {
    const credentials = makeCredentials("quiet");
    const broken = JSON.stringify({ claudeAiOauth: { ...credentials.claudeAiOauth, expiresAt: "soon" } });
    const parsed = parseCredentials(broken);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).not.toContain(credentials.claudeAiOauth.accessToken);
  });
});

describe("parseClaudeJson", () => {
  it("accepts the CLI's account and onboarding state and keeps everything else", () => {
    const text = JSON.stringify({ hasCompletedOnboarding: true, oauthAccount: { emailAddress: "a@b.c", organizationName: null }, projects: { "/w": {} }, numStartups: 7 });
    const parsed = parseClaudeJson(text);
    expect(parsed.ok && parsed.value).toEqual(JSON.parse(text));
  });

  it.each([
    ["", /\.claude\.json is empty/],
    ['{"hasCompletedOnboarding": tr', /\.claude\.json is not valid JSON/],
    ['{"hasCompletedOnboarding": "yes"}', /\.claude\.json has an unexpected shape at "hasCompletedOnboarding"/],
  ])("rejects %j", (text, problem) => {
    const parsed = parseClaudeJson(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });
});

describe("what a workload and a person may see", () => {
  it("withoutRefreshToken blanks only the refresh token and leaves the original alone", () => {
    const credentials = makeCredentials("split", { extra: { other: 1 } });
    const refresh = credentials.claudeAiOauth.refreshToken;
    const handed = withoutRefreshToken(credentials);
    expect(handed.claudeAiOauth.refreshToken).toBe("");
    expect(handed.claudeAiOauth.accessToken).toBe(credentials.claudeAiOauth.accessToken);
    expect(handed.claudeAiOauth.expiresAt).toBe(credentials.claudeAiOauth.expiresAt);
    expect(handed.other).toBe(1);
    expect(credentials.claudeAiOauth.refreshToken).toBe(refresh);
    expect(parseCredentials(serializeJson(handed)).ok).toBe(true);
  });

  it("summarize reports expiry and presence, never a token", () => {
    const now = 1_700_000_000_000;
    const credentials = makeCredentials("summary");
    credentials.claudeAiOauth.expiresAt = now + 90_000;
    const summary = summarize(credentials, now);
    expect(summary).toEqual({
      expiresAt: now + 90_000,
      expiresInMs: 90_000,
      expired: false,
      hasRefreshToken: true,
      scopes: ["user:inference", "user:profile", "user:sessions:claude_code"],
      subscription: "max",
    });
    expect(JSON.stringify(summary)).not.toMatch(/sk-ant-/);
    expect(summarize(credentials, now + 90_000).expired).toBe(true);
    expect(summarize(withoutRefreshToken(credentials), now).hasRefreshToken).toBe(false);
  });
});
