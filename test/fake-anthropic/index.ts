// A fake Anthropic endpoint for tests: point the real Claude CLI (or our code) at it with
//   HTTPS_PROXY=<proxyUrl>  NODE_EXTRA_CA_CERTS=<caPath>
// It serves OAuth refresh with single-use rotating refresh tokens and family revocation on reuse,
// /v1/messages, and the account look-ups the CLI makes. Loopback only; nothing is forwarded.
import { createCertAuthority } from './ca';
import { startProxy } from './proxy';
import { DEFAULT_ACCOUNT, OAUTH, emptyStats, record, route, type Account, type FakeRequest, type RouteContext, type Stats } from './routes';
import { TokenStore, type Credentials, type Family } from './tokens';
import { trackSecret } from '../support/token-scan';

export type { Account, Credentials, Family, Stats };
export { OAUTH };
export type { RequestRecord } from './routes';

export interface FakeAnthropicOptions {
  /** Life of access tokens from login() and from refresh; default 8 h like the real service. */
  accessTokenTtlSeconds?: number;
  /** Life of issueLongLivedToken() tokens; default one year. */
  longLivedTtlSeconds?: number;
  /** Fixed port; default an ephemeral one. */
  port?: number;
  /** Clock in ms, so tests can move time instead of sleeping. Default Date.now. */
  now?: () => number;
  account?: Partial<Account>;
  /** Status for a revoked (not merely unknown/expired) token; the real API uses 403. Default 401. */
  revokedStatus?: 401 | 403;
  /** Called with "METHOD host/path -> status" for each request (e.g. console.error while debugging). */
  log?: (line: string) => void;
}

export interface FakeAnthropic {
  proxyUrl: string;
  port: number;
  /** World-readable CA certificate (PEM) to trust, e.g. NODE_EXTRA_CA_CERTS. */
  caPath: string;
  /** A fresh login (new token family), shaped as the CLI's `claudeAiOauth`; of another account when given one. */
  login(opts?: { accessTokenTtlSeconds?: number; account?: Partial<Account> }): Credentials;
  /** A token as `claude setup-token` prints it (for CLAUDE_CODE_OAUTH_TOKEN): no refresh, long life. */
  issueLongLivedToken(): string;
  /** Newest refresh token of a family (family id or any of its tokens; default the newest login). */
  latestRefreshToken(family?: string): string | undefined;
  /** Newest access token of a family (same lookup as latestRefreshToken). */
  latestAccessToken(family?: string): string | undefined;
  /** Family record (ids, all tokens, revoked flag) for a family id or any of its tokens. */
  family(ref?: string): Family | undefined;
  /** Revoke one access token, leaving its family (and refresh token) alive. */
  revokeAccessToken(token: string): boolean;
  /** Revoke every token of a family (family id or any of its tokens). */
  revokeFamily(ref: string): boolean;
  /** Live counters (the same object for the fake's whole life; reset() zeroes it). */
  readonly stats: Stats;
  /**
   * A barrier for the next token request: it is held, unanswered and unprocessed (nothing
   * spent), from its arrival until release() (then processed and answered) or discard()
   * (answered 503 unprocessed: it never reached the server). `arrived` resolves when it is held.
   */
  holdNextTokenRequest(): { arrived: Promise<void>; release(): void; discard(): void };
  /**
   * The next `count` token requests are turned away unprocessed (nothing spent), as a busy
   * endpoint does: `status` (429 by default) with `Retry-After: retryAfter` when given
   * (seconds, or an HTTP date).
   */
  throttleTokenRequests(count: number, options?: { status?: number; retryAfter?: string }): void;
  /** From now on, a messages request that offers the Bash tool is answered with a tool_use running `command` (null: off). */
  answerWithBash(command: string | null): void;
  /** Forget all tokens and zero the stats (certificates are kept). */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const now = options.now ?? Date.now;
  const tokens = new TokenStore({
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 8 * 3600,
    longLivedTtlSeconds: options.longLivedTtlSeconds ?? 365 * 24 * 3600,
    onMint: trackSecret,
  });
  const ctx: RouteContext = {
    tokens,
    stats: emptyStats(),
    now,
    account: { ...DEFAULT_ACCOUNT, ...options.account },
    familyAccounts: new Map(),
    revokedStatus: options.revokedStatus ?? 401,
    bashCommand: null,
  };
  let throttle = { count: 0, status: 429, retryAfter: undefined as string | undefined };
  let hold: { arrive(): void; released: Promise<boolean> } | null = null;
  const handle = async (req: FakeRequest) => {
    if (hold && req.path === OAUTH.path) {
      const held = hold;
      hold = null;
      held.arrive();
      if (!(await held.released)) return { status: 503, headers: { 'content-type': 'application/json' }, body: '{"error":"temporarily_unavailable"}' };
    }
    if (throttle.count > 0 && req.path === OAUTH.path && req.host === OAUTH.host) {
      throttle.count--;
      const retryAfter: Record<string, string> = throttle.retryAfter === undefined ? {} : { 'retry-after': throttle.retryAfter };
      const error = throttle.status === 429 ? 'rate_limit_error' : 'api_error';
      return { status: throttle.status, headers: { 'content-type': 'application/json', ...retryAfter }, body: JSON.stringify({ type: 'error', error: { type: error, message: 'try again later' } }) };
    }
    return route(req, ctx);
  };
  const ca = await createCertAuthority();
  let proxy;
  try {
    proxy = await startProxy({
      ca,
      port: options.port,
      handle,
      onRequest: (req, status) => {
        record(ctx.stats, req, status);
        options.log?.(`${req.method} ${req.host}${req.path}${req.search} -> ${status}`);
      },
    });
  } catch (err) {
    await ca.dispose();
    throw err;
  }
  const p = proxy;
  let closed = false;

  return {
    proxyUrl: `http://127.0.0.1:${p.port}`,
    port: p.port,
    caPath: ca.caPath,
    login: (o) => {
      const { family, ...creds } = tokens.login(now(), o?.accessTokenTtlSeconds);
      if (o?.account) ctx.familyAccounts.set(family, { ...ctx.account, ...o.account });
      return creds;
    },
    issueLongLivedToken: () => tokens.issueLongLived(now()).token,
    latestRefreshToken: (f) => tokens.latestRefreshToken(f),
    latestAccessToken: (f) => tokens.latestAccessToken(f),
    family: (f) => tokens.family(f),
    revokeAccessToken: (t) => tokens.revokeAccessToken(t),
    // Not counted in stats.familiesRevoked, which counts what the server did on its own (reuse).
    revokeFamily: (ref) => {
      const f = tokens.family(ref);
      return f ? tokens.revokeFamily(f.id) : false;
    },
    get stats() {
      return ctx.stats;
    },
    holdNextTokenRequest: () => {
      let arrive!: () => void;
      let settle!: (process: boolean) => void;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const released = new Promise<boolean>((resolve) => (settle = resolve));
      hold = { arrive, released };
      return { arrived, release: () => settle(true), discard: () => settle(false) };
    },
    throttleTokenRequests: (count, o) => {
      throttle = { count, status: o?.status ?? 429, retryAfter: o?.retryAfter };
    },
    answerWithBash: (command) => {
      ctx.bashCommand = command;
    },
    reset: () => {
      tokens.reset();
      ctx.familyAccounts.clear();
      ctx.bashCommand = null;
      throttle.count = 0;
      Object.assign(ctx.stats, emptyStats()); // in place: callers may hold a reference to stats
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await p.close();
      await ca.dispose();
    },
  };
}
