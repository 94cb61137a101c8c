import path from "node:path";
import { CREDENTIALS_FILE } from "./layout";
import { parseCredentials, serializeJson, type CredentialsFile, type OauthTokens } from "./credentials";
import { registerSecret } from "./redact";
import { writeNewFile } from "./safe-fs";
import { copyCaptureInto, sha256, type Capture, type Draft, type LockedStore, type RescueReserve, type Store } from "./store";
import { UserError, errorMessage } from "./errors";
import { log } from "./output";
import { formatDuration } from "./duration";
import { nextWait, parseRetryAfter, REFRESH_BACKOFF, type BackoffPolicy } from "./backoff";
import { recordEvent, type NewEvent, type RefreshAnswer } from "./events";
import { postJson, type JsonResponse } from "./http";

// Single-flight refresh: whoever finds the access token near expiry takes the store lock,
// looks again (another run may have just refreshed), spends the refresh token once and
// commits the rotated pair before anyone else can read the old one.
//
// A spent token is never sent twice: everything the commit needs is written (and room for
// a rescue claimed) before the token is spent, so a full disk stops us while the token is
// still good; if the commit fails anyway, the rotated pair goes to the store's rescue file,
// which the next holder of the lock adopts before it could send any token.
//
// One piece of code for every store and both binaries: the entrypoint refreshes in its
// container, the plugin refreshes a k8s:// store in-process on the host (its kubeconfig
// reaches the API server; a container would need its credentials).

export type TokenEndpoint = { tokenUrl: string; clientId: string; scope: string };

const DEFAULT_TOKEN_URL = "https://platform.claude.com/v1/oauth/token";
const DEFAULT_CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
const DEFAULT_SCOPE = "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload";

/** The endpoint as CLAUDEAUTH_TOKEN_URL, _CLIENT_ID and _SCOPE set it (the plugin's in-process refresh; the entrypoint also takes flags). */
export function tokenEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): TokenEndpoint {
  return { tokenUrl: env.CLAUDEAUTH_TOKEN_URL || DEFAULT_TOKEN_URL, clientId: env.CLAUDEAUTH_CLIENT_ID || DEFAULT_CLIENT_ID, scope: env.CLAUDEAUTH_SCOPE || DEFAULT_SCOPE };
}

/** Who refreshes, for the store's event log: the entrypoint names its container. */
export type Refresher = Pick<NewEvent, "by" | "container" | "image" | "host">;

/** The token endpoint did not issue tokens; `answer` is how it answered, for the event log. */
export class TokenEndpointError extends UserError {
  constructor(
    message: string,
    readonly answer: RefreshAnswer,
  ) {
    super(message);
  }
}
/** The endpoint refused the refresh token itself (invalid_grant): it never works again. */
export class RefreshRejectedError extends TokenEndpointError {
  constructor(message: string) {
    super(message, "invalid_grant");
  }
}

const STILL_USABLE_MS = 60_000;

export function needsRefresh(capture: Capture, marginMs: number, now = Date.now()): boolean {
  const oauth = capture.credentials?.claudeAiOauth;
  return Boolean(oauth?.refreshToken) && oauth!.expiresAt - now <= marginMs;
}

export async function ensureFresh(store: Store, endpoint: TokenEndpoint, marginMs: number, refresher: Refresher): Promise<Capture | null> {
  const before = await store.readCurrent();
  if (!before || (!needsRefresh(before, marginMs) && !(await store.hasRescue()))) return before;
  return store.withLock(async (locked) => {
    await adoptRescue(store, locked);
    const current = (await locked.readCurrent())!;
    // Someone refreshed while we waited for the lock: take their token unless it is nearly
    // gone too (tokens that live shorter than the margin would otherwise rotate on every run).
    const tookTheirs = current.generation !== before.generation && !needsRefresh(current, Math.min(marginMs, STILL_USABLE_MS));
    if (tookTheirs || !needsRefresh(current, marginMs)) return current;
    return refreshLocked(store, locked, current, endpoint, refresher);
  });
}

async function refreshLocked(store: Store, locked: LockedStore, current: Capture, endpoint: TokenEndpoint, refresher: Refresher): Promise<Capture> {
  const oauth = current.credentials!.claudeAiOauth;
  // A rejected token stays rejected (a fallback capture's token may have been spent to make
  // the capture that no longer reads): say so instead of sending it on every run.
  if (await locked.isRejected(oauth.refreshToken!)) {
    await recordEvent(store, { kind: "refresh", outcome: "invalid_grant", ...refresher, detail: "rejected earlier: not sent again" });
    throw rejected("earlier (it is not sent again)");
  }
  const { draft, reserve } = await prepareRefresh(store, locked, current);
  let tokens: OauthTokens;
  try {
    // never spend a token under a lock another process has taken over (checked before each attempt)
    tokens = await spendRefreshToken(oauth, endpoint, REFRESH_BACKOFF, () => locked.assertHeld());
  } catch (error) {
    draft.discard();
    reserve.release();
    if (error instanceof RefreshRejectedError) await rememberRejected(locked, oauth.refreshToken!);
    if (error instanceof TokenEndpointError) await recordEvent(store, { kind: "refresh", outcome: error.answer, ...refresher, detail: error.message });
    throw error;
  }
  const credentials: CredentialsFile = { ...current.credentials!, claudeAiOauth: tokens };
  try {
    writeNewFile(path.join(draft.dir, CREDENTIALS_FILE), serializeJson(credentials), store.owner);
    const capture = await draft.commit();
    reserve.release();
    await recordEvent(store, { kind: "refresh", outcome: "ok", ...refresher, generation: capture.generation });
    return capture;
  } catch (error) {
    draft.discard();
    throw await rescue(store, reserve, oauth.refreshToken!, credentials, error);
  }
}

/** The draft (every file but the new credentials) and the rescue room: a full disk shows here, before any token is spent. */
async function prepareRefresh(store: Store, locked: LockedStore, current: Capture): Promise<{ draft: Draft; reserve: RescueReserve }> {
  let draft: Draft | undefined;
  try {
    draft = await locked.prepare((dir) => copyCaptureInto(current, dir, store.owner, [CREDENTIALS_FILE]), { source: "refresh", mode: "oauth" });
    return { draft, reserve: await locked.reserveRescue() };
  } catch (error) {
    draft?.discard();
    // Refused with its own fix (a k8s:// store's Role without update; a capture too big for a Secret): said as it is.
    if (error instanceof UserError && !(error as NodeJS.ErrnoException).code) throw new UserError(`cannot refresh: ${error.message} (the refresh token was not spent)`);
    const fix = diskFull(error) ? "free space on its disk and try again" : "check that it is mounted writable";
    throw new UserError(`cannot refresh: the store at ${store.location} cannot take a new capture (${errorMessage(error)}); ${fix} (the refresh token was not spent)`);
  }
}

type Rescue = { schema: 1; spentRefreshTokenSha256: string; rescuedAt: string; credentials: CredentialsFile };

/** Keeps a rotated pair whose commit failed; returns the error to report. */
async function rescue(store: Store, reserve: RescueReserve, spent: string, credentials: CredentialsFile, cause: unknown): Promise<UserError> {
  const record: Rescue = { schema: 1, spentRefreshTokenSha256: sha256(spent), rescuedAt: new Date().toISOString(), credentials };
  try {
    await reserve.write(serializeJson(record));
  } catch (error) {
    reserve.release();
    return new UserError(`the refreshed token could not be stored (${errorMessage(cause)}) nor rescued (${errorMessage(error)}): log in again with "docker claudeauth setup"`);
  }
  return new UserError(
    `could not commit the refreshed token (${errorMessage(cause)}): it is kept in ${store.rescueLocation}, which the next run or refresh adopts${diskFull(cause) ? "; free space on the store's disk" : ""}`,
  );
}

function diskFull(error: unknown): boolean {
  return ["ENOSPC", "EDQUOT"].includes((error as NodeJS.ErrnoException).code ?? "");
}

/**
 * Adopts a rescued pair (under the lock, before any token is sent) if the store still
 * holds the token it was rotated from; a rescue the store has moved past is dropped. If it
 * cannot be committed yet, nothing is refreshed: that would send its spent token.
 */
async function adoptRescue(store: Store, locked: LockedStore): Promise<void> {
  const text = await locked.readRescue();
  if (text === null) return;
  let record: Rescue | null = null;
  try {
    record = JSON.parse(text) as Rescue;
  } catch {
    // Not a rescue we wrote (we rename it into place only when complete): dropped below.
  }
  const parsed = record ? parseCredentials(serializeJson(record.credentials)) : null;
  if (!record || !parsed?.ok) {
    log.warn(`ignored the store's rescue file ${store.rescueLocation}: it is not a rescued login`);
    await locked.removeRescue();
    return;
  }
  registerSecret(parsed.value.claudeAiOauth.accessToken);
  registerSecret(parsed.value.claudeAiOauth.refreshToken);
  const current = await locked.readCurrent();
  const stored = current?.credentials?.claudeAiOauth.refreshToken;
  if (current && stored && sha256(stored) === record.spentRefreshTokenSha256) {
    try {
      const adopted = await locked.commit((dir) => {
        copyCaptureInto(current, dir, store.owner, [CREDENTIALS_FILE]);
        writeNewFile(path.join(dir, CREDENTIALS_FILE), serializeJson(parsed.value), store.owner);
      }, { source: "rescue", mode: "oauth" });
      log.info(`adopted the refreshed token kept in ${store.rescueLocation} (capture ${adopted.generation})`);
    } catch (error) {
      const fix = diskFull(error) ? "free space on its disk" : "check that it is mounted writable";
      throw new UserError(`the store at ${store.location} holds a refreshed token that is not committed yet (${errorMessage(error)}): ${fix}; no token is sent until it is committed`);
    }
  } else if (stored !== parsed.value.claudeAiOauth.refreshToken) {
    log.warn(`dropped the store's rescue file ${store.rescueLocation}: the store holds a newer login`);
  }
  await locked.removeRescue();
}

async function rememberRejected(locked: LockedStore, refreshToken: string): Promise<void> {
  try {
    await locked.markRejected(refreshToken);
  } catch (error) {
    log.warn(`could not note the rejected refresh token in the store (${errorMessage(error)})`);
  }
}

function rejected(how: string): RefreshRejectedError {
  return new RefreshRejectedError(`the token endpoint rejected the store's refresh token ${how}: log in again with "docker claudeauth setup"`);
}

/**
 * Spends a refresh token: one request, more only after a 429 or a 5xx, within `policy`
 * (Retry-After honoured, each wait said in one line). Those answers issue nothing, and the
 * token is the one the store holds either way (the next run would send it again), so a
 * retry never sends a token that a success could have spent: the loop ends at the first
 * answer that carries tokens or refuses the token. `beforeEach` runs before every attempt.
 */
export async function spendRefreshToken(oauth: OauthTokens, endpoint: TokenEndpoint, policy: BackoffPolicy = REFRESH_BACKOFF, beforeEach = () => {}): Promise<OauthTokens> {
  const host = new URL(endpoint.tokenUrl).host;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    beforeEach();
    const response = await postJson(endpoint.tokenUrl, {
      grant_type: "refresh_token",
      refresh_token: oauth.refreshToken,
      client_id: endpoint.clientId,
      scope: endpoint.scope,
    }).catch((error: unknown) => {
      throw new TokenEndpointError(`cannot reach the token endpoint ${host} (${errorMessage(error)}): check the container's network, or set HTTPS_PROXY`, "network");
    });
    const body = (typeof response.body === "object" && response.body ? response.body : {}) as Record<string, unknown>;
    if (response.status === 400 || response.status === 401) throw rejected(`(${String(body.error ?? response.status)})`);
    if (response.status === 200 && typeof body.access_token === "string" && typeof body.expires_in === "number") return issued(oauth, body);
    if (!isRetryable(response.status)) throw new TokenEndpointError(`token refresh failed: ${host} answered HTTP ${response.status}; try again later`, "other");
    const retryAfter = parseRetryAfter(response.retryAfter);
    const wait = nextWait(policy, attempt, waited, retryAfter);
    if (wait === null) throw busy(host, response, retryAfter, attempt);
    log.info(`the token endpoint ${host} answered HTTP ${response.status}${retryAfter === null ? "" : ` (Retry-After ${response.retryAfter})`}: trying again in ${formatDuration(wait)} (attempt ${attempt + 1} of ${policy.attempts})`);
    await new Promise((resolve) => setTimeout(resolve, wait));
    waited += wait;
  }
}

function isRetryable(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

function busy(host: string, response: JsonResponse, retryAfterMs: number | null, attempts: number): TokenEndpointError {
  const answer: RefreshAnswer = response.status === 429 ? "429" : "5xx";
  const tried = attempts === 1 ? "" : ` after ${attempts} attempts`;
  const after = retryAfterMs === null ? "try again later" : `it asks to wait ${formatDuration(retryAfterMs)}: try again after ${new Date(Date.now() + retryAfterMs).toISOString()}`;
  return new TokenEndpointError(`token refresh failed${tried}: ${host} answered HTTP ${response.status}${answer === "429" ? " (rate limited)" : ""}; ${after} (the store keeps its refresh token)`, answer);
}

function issued(oauth: OauthTokens, body: Record<string, unknown>): OauthTokens {
  registerSecret(body.access_token as string);
  if (typeof body.refresh_token === "string") registerSecret(body.refresh_token);
  return {
    ...oauth,
    accessToken: body.access_token as string,
    refreshToken: typeof body.refresh_token === "string" ? body.refresh_token : oauth.refreshToken,
    expiresAt: Date.now() + (body.expires_in as number) * 1000,
    scopes: typeof body.scope === "string" ? body.scope.split(" ").filter(Boolean) : oauth.scopes,
  };
}
