import { z } from "zod";

// What the Claude CLI keeps in ~/.claude/.credentials.json. Unknown fields are kept
// (passthrough) so a newer CLI's additions survive a capture.
export const OauthTokens = z.looseObject({
  accessToken: z.string(),
  refreshToken: z.string().optional(),
  expiresAt: z.number(),
  scopes: z.array(z.string()).optional(),
  subscriptionType: z.string().nullable().optional(),
  rateLimitTier: z.string().nullable().optional(),
});
export type OauthTokens = z.infer<typeof OauthTokens>;

export const CredentialsFile = z.looseObject({ claudeAiOauth: OauthTokens });
export type CredentialsFile = z.infer<typeof CredentialsFile>;

// ~/.claude.json: account, onboarding and trust state. Only its shape is checked.
export const ClaudeJson = z.looseObject({
  hasCompletedOnboarding: z.boolean().optional(),
  oauthAccount: z
    .looseObject({
      emailAddress: z.string().optional(),
      organizationName: z.string().nullable().optional(),
      accountUuid: z.string().optional(),
    })
    .optional(),
});
export type ClaudeJson = z.infer<typeof ClaudeJson>;

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function parseJson<T>(text: string, schema: z.ZodType<T>, what: string): Parsed<T> {
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
