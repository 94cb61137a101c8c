import path from "node:path";
import { CLAUDE_JSON_FILE, CREDENTIALS_FILE, MAX_AUTH_FILE_BYTES } from "../core/layout";
import { parseCredentials, serializeJson, type OauthTokens } from "../core/credentials";
import { lstatOrNull, readRegularFile, UnsafeFileError, writeNewFile } from "../core/safe-fs";
import { copyCaptureInto, type Capture, type Store } from "../core/store";
import { errorMessage } from "../core/errors";
import { log } from "../core/output";
import { registerSecret } from "../core/redact";
import { getJson } from "../core/http";
import { containerIdentity, recordEvent } from "./audit";
import { RefreshRejectedError, spendRefreshToken, type TokenEndpoint } from "../core/refresh";
import type { LoginPolicy } from "./options";
import type { WorkingCopy } from "./working-copy";

// After a run: a login the workload made (it holds a refresh token we never gave it) may
// replace the store's, but only when the user asked for it, and by default only for the
// same account. Nothing else the workload wrote is believed: its refresh token is spent
// at once, so what the store keeps is a pair the token endpoint just issued; its account
// is what the profile endpoint says for that pair; its .claude.json (mcpServers, hooks,
// apiKeyHelper …) and every other file stay behind.

export type AccountEndpoints = TokenEndpoint & { profileUrl: string };
type Account = { uuid: string; oauthAccount: Record<string, string>; plan: Partial<OauthTokens> };

export async function writeBack(store: Store, copy: WorkingCopy, base: Capture, endpoint: AccountEndpoints, policy: LoginPolicy): Promise<boolean> {
  const offered = offeredRefreshToken(copy, base);
  if (!offered) return false;
  const refuse = async (outcome: string, message: string) => {
    log.warn(`not written back: ${message}`);
    await recordEvent(store, { kind: "refused", outcome, ...containerIdentity(), detail: message });
    return false;
  };
  if (policy === "none") return refuse("planted-login", "the workload logged in afresh; pass --allow-login to keep a login made inside a run");
  let tokens: OauthTokens;
  let account: Account;
  try {
    tokens = await spendRefreshToken({ accessToken: "", refreshToken: offered, expiresAt: 0 }, endpoint);
    account = await accountOf(tokens.accessToken, endpoint.profileUrl);
  } catch (error) {
    const why = error instanceof RefreshRejectedError ? "the token endpoint rejected its refresh token" : errorMessage(error);
    return refuse("unconfirmed-login", `the run's new login could not be confirmed (${why})`);
  }
  return store.withLock(async (locked) => {
    const current = await locked.readCurrent();
    if (policy === "same-account" && !(await isAccountOf(current, account, endpoint.profileUrl))) {
      return refuse("other-account", "the run's new login is not the store's account; pass --allow-other-account to keep it anyway");
    }
    const kept = await locked.commit((draft) => {
      if (current) copyCaptureInto(current, draft, store.owner, [CREDENTIALS_FILE, CLAUDE_JSON_FILE]);
      const credentials = { ...current?.credentials, claudeAiOauth: { ...tokens, ...account.plan } };
      writeNewFile(path.join(draft, CREDENTIALS_FILE), serializeJson(credentials), store.owner);
      const claudeJson = { ...current?.claudeJson, oauthAccount: { ...current?.claudeJson?.oauthAccount, ...account.oauthAccount } };
      writeNewFile(path.join(draft, CLAUDE_JSON_FILE), serializeJson(claudeJson), store.owner);
    }, { source: "write-back", mode: "oauth" });
    log.info("wrote the run's new login back to the store");
    await recordEvent(store, { kind: "write-back", outcome: "kept", ...containerIdentity(), generation: kept.generation, detail: `a login made in the run (${policy})` });
    return true;
  });
}

/** The refresh token of a login the workload made, or null (none, ours, blanked, unreadable). */
function offeredRefreshToken(copy: WorkingCopy, base: Capture): string | null {
  // `copy.parent` is root's: this path cannot be redirected, and the file is opened without
  // following a symlink, without blocking on a FIFO, and only if it is a regular file.
  const file = path.join(copy.dir, CREDENTIALS_FILE);
  let text: string;
  try {
    if (!lstatOrNull(file)) return null;
    text = readRegularFile(file, MAX_AUTH_FILE_BYTES).toString("utf8");
  } catch (error) {
    if (error instanceof UnsafeFileError || (error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const parsed = parseCredentials(text);
  const offered = parsed.ok ? parsed.value.claudeAiOauth.refreshToken?.trim() : undefined;
  if (!offered || offered === base.credentials?.claudeAiOauth.refreshToken) return null;
  registerSecret(offered);
  return offered;
}

/** Whether the store's current login belongs to `account`, as the profile endpoint tells. */
async function isAccountOf(current: Capture | null, account: Account, profileUrl: string): Promise<boolean> {
  const accessToken = current?.credentials?.claudeAiOauth.accessToken;
  if (!accessToken) return false;
  try {
    return (await accountOf(accessToken, profileUrl)).uuid === account.uuid;
  } catch (error) {
    log.warn(`could not tell the store's account (${errorMessage(error)})`);
    return false;
  }
}

/** The account an access token belongs to, from the OAuth profile endpoint (as the CLI asks it). */
async function accountOf(accessToken: string, profileUrl: string): Promise<Account> {
  const response = await getJson(profileUrl, { authorization: `Bearer ${accessToken}`, "anthropic-beta": "oauth-2025-04-20" });
  const body = (typeof response.body === "object" && response.body ? response.body : {}) as Record<string, Record<string, unknown> | undefined>;
  const [user, org] = [body.account ?? {}, body.organization ?? {}];
  if (response.status !== 200 || typeof user.uuid !== "string" || user.uuid === "") {
    throw new Error(`${new URL(profileUrl).host} answered HTTP ${response.status} for its profile`);
  }
  const strings = (entries: [string, unknown][]) => Object.fromEntries(entries.filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  return {
    uuid: user.uuid,
    oauthAccount: strings([
      ["accountUuid", user.uuid], ["emailAddress", user.email], ["displayName", user.display_name],
      ["organizationUuid", org.uuid], ["organizationName", org.name],
    ]),
    // The CLI names plans without the "claude_" of the organization type (claude_max → max).
    plan: strings([["subscriptionType", typeof org.organization_type === "string" ? org.organization_type.replace(/^claude_/, "") : undefined], ["rateLimitTier", org.rate_limit_tier]]),
  };
}
