import path from "node:path";
import { CREDENTIALS_FILE } from "../core/layout";
import { serializeJson, type CredentialsFile, type OauthTokens } from "../core/credentials";
import { registerSecret } from "../core/redact";
import { withLock } from "../core/lock";
import { writeNewFile } from "../core/safe-fs";
import { copyCaptureInto, type Capture, type Store } from "../core/store";
import { UserError, errorMessage } from "../core/errors";
import { postJson } from "./http";

// Single-flight refresh: whoever finds the access token near expiry takes the store lock,
// looks again (another run may have just refreshed), spends the refresh token once and
// commits the rotated pair before anyone else can read the old one.

export type TokenEndpoint = { tokenUrl: string; clientId: string; scope: string };

export class RefreshRejectedError extends UserError {}

const STILL_USABLE_MS = 60_000;

export function needsRefresh(capture: Capture, marginMs: number, now = Date.now()): boolean {
  const oauth = capture.credentials?.claudeAiOauth;
  return Boolean(oauth?.refreshToken) && oauth!.expiresAt - now <= marginMs;
}

export async function ensureFresh(store: Store, endpoint: TokenEndpoint, marginMs: number): Promise<Capture | null> {
  const before = store.readCurrent();
  if (!before || !needsRefresh(before, marginMs)) return before;
  return withLock(store.lockDir, async () => {
    const current = store.readCurrent()!;
    // Someone refreshed while we waited for the lock: take their token unless it is nearly
    // gone too (tokens that live shorter than the margin would otherwise rotate on every run).
    const tookTheirs = current.generation !== before.generation && !needsRefresh(current, Math.min(marginMs, STILL_USABLE_MS));
    if (tookTheirs || !needsRefresh(current, marginMs)) return current;
    const tokens = await spendRefreshToken(current.credentials!.claudeAiOauth, endpoint);
    const credentials: CredentialsFile = { ...current.credentials!, claudeAiOauth: tokens };
    return store.commitLocked((draft) => {
      copyCaptureInto(current, draft, store.owner, [CREDENTIALS_FILE]);
      writeNewFile(path.join(draft, CREDENTIALS_FILE), serializeJson(credentials), store.owner);
    }, { source: "refresh", mode: "oauth" });
  });
}

export async function spendRefreshToken(oauth: OauthTokens, endpoint: TokenEndpoint): Promise<OauthTokens> {
  const response = await postJson(endpoint.tokenUrl, {
    grant_type: "refresh_token",
    refresh_token: oauth.refreshToken,
    client_id: endpoint.clientId,
    scope: endpoint.scope,
  }).catch((error: unknown) => {
    throw new UserError(`cannot reach the token endpoint ${new URL(endpoint.tokenUrl).host} (${errorMessage(error)}): check the container's network, or set HTTPS_PROXY`);
  });
  const body = (typeof response.body === "object" && response.body ? response.body : {}) as Record<string, unknown>;
  if (response.status === 400 || response.status === 401) {
    throw new RefreshRejectedError(
      `the token endpoint rejected the store's refresh token (${String(body.error ?? response.status)}): log in again with "docker claudeauth setup"`,
    );
  }
  if (response.status !== 200 || typeof body.access_token !== "string" || typeof body.expires_in !== "number") {
    throw new UserError(`token refresh failed: ${new URL(endpoint.tokenUrl).host} answered HTTP ${response.status}; try again later`);
  }
  registerSecret(body.access_token);
  if (typeof body.refresh_token === "string") registerSecret(body.refresh_token);
  return {
    ...oauth,
    accessToken: body.access_token,
    refreshToken: typeof body.refresh_token === "string" ? body.refresh_token : oauth.refreshToken,
    expiresAt: Date.now() + body.expires_in * 1000,
    scopes: typeof body.scope === "string" ? body.scope.split(" ").filter(Boolean) : oauth.scopes,
  };
}
