import { array, boolean, looseObject, nullable, number, optional, string, type ZodMiniType, type infer as Infer } from "zod/mini";

// What the Claude CLI keeps in ~/.claude/.credentials.json. Unknown fields are kept
// (passthrough) so a newer CLI's additions survive a capture. zod/mini: a fraction of
// full zod's size, which is most of what both binaries load at start.
export const OauthTokens = looseObject({
  accessToken: string(),
  refreshToken: optional(string()),
  expiresAt: number(),
  scopes: optional(array(string())),
  subscriptionType: optional(nullable(string())),
  rateLimitTier: optional(nullable(string())),
});
export type OauthTokens = Infer<typeof OauthTokens>;

export const CredentialsFile = looseObject({ claudeAiOauth: OauthTokens });
export type CredentialsFile = Infer<typeof CredentialsFile>;

// ~/.claude.json: account, onboarding and trust state. Only its shape is checked.
export const ClaudeJson = looseObject({
  hasCompletedOnboarding: optional(boolean()),
  oauthAccount: optional(
    looseObject({
      emailAddress: optional(string()),
      organizationName: optional(nullable(string())),
      accountUuid: optional(string()),
    }),
  ),
});
export type ClaudeJson = Infer<typeof ClaudeJson>;

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function parseJson<T>(text: string, schema: ZodMiniType<T>, what: string): Parsed<T> {
  if (text.trim() === "") return { ok: false, problem: `${what} is empty` };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problem: `${what} is not valid JSON (truncated or corrupt)` };
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, problem: `${what} has an unexpected shape at "${issue.path.join(".") || "(root)"}": ${issue.message}` };
  }
  return { ok: true, value: result.data };
}

/**
 * Credentials usable to authenticate: a non-empty access token and a real expiry. A file the
 * CLI blanked after invalid_grant (accessToken "", expiresAt 0) is parsed but not usable.
 */
export function parseCredentials(text: string): Parsed<CredentialsFile> {
  const parsed = parseJson(text, CredentialsFile, ".credentials.json");
  if (!parsed.ok) return parsed;
  const oauth = parsed.value.claudeAiOauth;
  if (oauth.accessToken === "" || oauth.expiresAt <= 0) {
    return { ok: false, problem: ".credentials.json holds blanked tokens (the CLI logged out or a refresh failed)" };
  }
  return parsed;
}

export function parseClaudeJson(text: string): Parsed<ClaudeJson> {
  return parseJson(text, ClaudeJson, ".claude.json");
}

export type CredentialSummary = {
  expiresAt: number;
  expiresInMs: number;
  expired: boolean;
  hasRefreshToken: boolean;
  scopes: string[];
  subscription: string | null;
};

/** Everything about credentials a person may see; never a token. */
export function summarize(credentials: CredentialsFile, now = Date.now()): CredentialSummary {
  const oauth = credentials.claudeAiOauth;
  return {
    expiresAt: oauth.expiresAt,
    expiresInMs: oauth.expiresAt - now,
    expired: oauth.expiresAt <= now,
    hasRefreshToken: Boolean(oauth.refreshToken),
    scopes: oauth.scopes ?? [],
    subscription: oauth.subscriptionType ?? null,
  };
}

/** The copy handed to a workload: it can use the access token but never spend the refresh token. */
export function withoutRefreshToken(credentials: CredentialsFile): CredentialsFile {
  return { ...credentials, claudeAiOauth: { ...credentials.claudeAiOauth, refreshToken: "" } };
}

export function serializeJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
