// What the fake answers, by path whatever the host (the CLI talks to api.anthropic.com), except
// the token endpoint, which is served only where the real one is (platform.claude.com) and
// refuses what the real one refuses: another client id, grant type, scope or content type.
// Synchronous and socket-free: the proxy hands in a parsed request and writes back the reply.
import type { IncomingHttpHeaders } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { TokenStore } from './tokens';

export interface FakeRequest {
  method: string;
  host: string;
  path: string; // without the query
  search: string; // '' or '?...'
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RequestRecord {
  method: string;
  host: string;
  path: string;
  status: number;
}

/** What the real token endpoint insists on (the Claude CLI's own OAuth client). */
export const OAUTH = {
  host: 'platform.claude.com',
  path: '/v1/oauth/token',
  clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  grantType: 'refresh_token',
} as const;

export interface Stats {
  refreshOk: number;
  invalidGrant: number;
  /** Token requests refused before any token was looked at (client id, scope, grant type, body). */
  tokenRequestsRefused: number;
  familiesRevoked: number;
  messagesOk: number;
  messages401: number;
  /** What the CLI's tools answered (tool_result texts), when the fake asked it to run one. */
  toolResults: string[];
  /** Requests by path (query excluded), every host and method together. */
  byPath: Record<string, number>;
  /** Every request, in arrival order, the CONNECT-less plain proxy ones included. */
  requests: RequestRecord[];
}

export function emptyStats(): Stats {
  return { refreshOk: 0, invalidGrant: 0, tokenRequestsRefused: 0, familiesRevoked: 0, messagesOk: 0, messages401: 0, toolResults: [], byPath: {}, requests: [] };
}

export interface Account {
  uuid: string;
  email: string;
  displayName: string;
  organizationUuid: string;
  organizationName: string;
}

export const DEFAULT_ACCOUNT: Account = {
  uuid: '00000000-0000-4000-8000-00000000a11c',
  email: 'fake.user@example.com',
  displayName: 'Fake User',
  organizationUuid: '00000000-0000-4000-8000-0000000000e9',
  organizationName: "fake.user@example.com's Organization",
};

export interface RouteContext {
  tokens: TokenStore;
  stats: Stats;
  now: () => number;
  account: Account;
  /** Logins made for another account than `account` (by family id). */
  familyAccounts: Map<string, Account>;
  /** The real API answers a revoked OAuth token with 403 "OAuth token has been revoked"; default 401. */
  revokedStatus: 401 | 403;
  /** A shell command the model "asks" the CLI's Bash tool to run, in answer to a request that offers that tool. */
  bashCommand: string | null;
}

function json(status: number, value: unknown, extra: Record<string, string> = {}): FakeReply {
  return {
    status,
    headers: { 'content-type': 'application/json', 'request-id': `req_${randomBytes(12).toString('hex')}`, ...extra },
    body: JSON.stringify(value),
  };
}

function notFound(req: FakeRequest): FakeReply {
  return json(404, { type: 'error', error: { type: 'not_found_error', message: `${req.method} ${req.path} is not served by the fake` } });
}

function parseJsonBody(req: FakeRequest): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(req.body.toString('utf8') || '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

type Auth = { ok: true; family: string } | { ok: false; reply: FakeReply };

function authorize(req: FakeRequest, ctx: RouteContext): Auth {
  const h = req.headers.authorization;
  const bearer = typeof h === 'string' && /^Bearer\s+/i.test(h) ? h.replace(/^Bearer\s+/i, '').trim() : undefined;
  const apiKey = typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined;
  const token = bearer ?? apiKey;
  const check = token ? ctx.tokens.checkAccess(token, ctx.now()) : ({ ok: false, reason: 'unknown' } as const);
  if (check.ok) return check;
  if (check.reason === 'revoked' && ctx.revokedStatus === 403) {
    return {
      ok: false,
      reply: json(403, { type: 'error', error: { type: 'permission_error', message: 'OAuth token has been revoked. Please obtain a new token.' } }),
    };
  }
  const message = bearer !== undefined || apiKey === undefined ? 'Invalid bearer token' : 'invalid x-api-key';
  return { ok: false, reply: json(401, { type: 'error', error: { type: 'authentication_error', message } }) };
}

function oauthError(error: string, description: string): FakeReply {
  return json(400, { error, error_description: description });
}

/** Why the token endpoint refuses a request before looking at its refresh token; null when it does not. */
function refusal(req: FakeRequest, body: Record<string, unknown> | undefined, granted: string[]): FakeReply | null {
  if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) {
    return oauthError('invalid_request', 'Content-Type must be application/json');
  }
  if (!body) return oauthError('invalid_request', 'Request body must be a JSON object');
  if (body.grant_type !== OAUTH.grantType) {
    return oauthError('unsupported_grant_type', `grant_type ${String(body.grant_type)} is not supported`);
  }
  if (body.client_id === undefined) return oauthError('invalid_request', 'client_id is required');
  if (body.client_id !== OAUTH.clientId) return oauthError('invalid_client', 'Client authentication failed: unknown client_id');
  if (typeof body.refresh_token !== 'string' || !body.refresh_token) return oauthError('invalid_request', 'refresh_token is required');
  if (body.scope !== undefined) {
    const asked = typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : [];
    if (typeof body.scope !== 'string' || asked.length === 0 || asked.some((s) => !granted.includes(s))) {
      return oauthError('invalid_scope', `scope must be a space-separated subset of: ${granted.join(' ')}`);
    }
  }
  return null;
}

function tokenEndpoint(req: FakeRequest, ctx: RouteContext): FakeReply {
  // The token endpoint lives on one host only; elsewhere the path is unknown.
  if (req.host !== OAUTH.host) return notFound(req);
  const body = parseJsonBody(req);
  const refused = refusal(req, body, ctx.tokens.grantableScopes());
  if (refused) {
    ctx.stats.tokenRequestsRefused++;
    return refused;
  }
  const scopes = typeof body!.scope === 'string' ? body!.scope.split(' ').filter(Boolean) : undefined;
  const r = ctx.tokens.refresh(body!.refresh_token as string, ctx.now(), scopes);
  if (!r.ok) {
    ctx.stats.invalidGrant++;
    if (r.revokedFamily) ctx.stats.familiesRevoked++;
    return oauthError(r.error, r.description);
  }
  ctx.stats.refreshOk++;
  const a = accountOf(ctx, r.family);
  return json(200, {
    token_type: 'Bearer',
    access_token: r.accessToken,
    refresh_token: r.refreshToken,
    expires_in: r.expiresIn,
    scope: r.scopes.join(' '),
    account: { uuid: a.uuid, email_address: a.email },
    organization: { uuid: a.organizationUuid, name: a.organizationName },
  });
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function messageReply(model: string, content: Block[] = [{ type: 'text', text: 'ok' }]) {
  return {
    id: `msg_${randomBytes(12).toString('hex')}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

/**
 * With `bashCommand` set, a request that offers the Bash tool gets a tool_use for it (the
 * model "runs" the command), and the next one, carrying the tool's result, gets "done"
 * while the result is kept in stats.toolResults. Other requests (titles, quota probes) get "ok".
 */
function answerFor(body: Record<string, unknown>, ctx: RouteContext): Block[] {
  const last = Array.isArray(body.messages) ? (body.messages.at(-1) as { content?: unknown } | undefined) : undefined;
  const blocks = Array.isArray(last?.content) ? (last.content as Array<Record<string, unknown>>) : [];
  const results = blocks.filter((b) => b.type === 'tool_result');
  if (results.length > 0) {
    for (const r of results) {
      const content = r.content;
      ctx.stats.toolResults.push(typeof content === 'string' ? content : Array.isArray(content) ? content.map((c: { text?: unknown }) => String(c.text ?? '')).join('') : '');
    }
    return [{ type: 'text', text: 'done' }];
  }
  const offersBash = Array.isArray(body.tools) && body.tools.some((t: { name?: unknown }) => t.name === 'Bash');
  if (ctx.bashCommand && offersBash) {
    return [{ type: 'tool_use', id: `toolu_${randomBytes(12).toString('hex')}`, name: 'Bash', input: { command: ctx.bashCommand, description: 'Run the command' } }];
  }
  return [{ type: 'text', text: 'ok' }];
}

function sse(events: Array<[string, unknown]>): string {
  return events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join('');
}

function messages(req: FakeRequest, ctx: RouteContext): FakeReply {
  const auth = authorize(req, ctx);
  if (!auth.ok) {
    ctx.stats.messages401++;
    return auth.reply;
  }
  const body = parseJsonBody(req) ?? {};
  const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5';
  ctx.stats.messagesOk++;
  const msg = messageReply(model, answerFor(body, ctx));
  if (body.stream !== true) return json(200, msg);
  const { content, stop_reason, usage, ...start } = msg;
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_${randomBytes(12).toString('hex')}` },
    body: sse([
      ['message_start', { type: 'message_start', message: { ...start, content: [], stop_reason: null, usage: { ...usage, output_tokens: 0 } } }],
      ...content.flatMap((block, index): Array<[string, unknown]> => [
        ['content_block_start', { type: 'content_block_start', index, content_block: block.type === 'text' ? { type: 'text', text: '' } : { ...block, input: {} } }],
        [
          'content_block_delta',
          { type: 'content_block_delta', index, delta: block.type === 'text' ? { type: 'text_delta', text: block.text } : { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } },
        ],
        ['content_block_stop', { type: 'content_block_stop', index }],
      ]),
      ['message_delta', { type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: 1 } }],
      ['message_stop', { type: 'message_stop' }],
    ]),
  };
}

function accountOf(ctx: RouteContext, family: string): Account {
  return ctx.familyAccounts.get(family) ?? ctx.account;
}

function profile(a: Account) {
  // Field names as the CLI reads them (organization_type → subscriptionType, rate_limit_tier, ...).
  return {
    account: {
      uuid: a.uuid,
      email: a.email,
      email_address: a.email,
      full_name: a.displayName,
      display_name: a.displayName,
      has_claude_max: true,
      has_claude_pro: false,
      created_at: '2025-01-01T00:00:00Z',
    },
    organization: {
      uuid: a.organizationUuid,
      name: a.organizationName,
      organization_type: 'claude_max',
      billing_type: 'stripe_subscription',
      rate_limit_tier: 'default_claude_max_20x',
      seat_tier: null,
      has_extra_usage_enabled: false,
      subscription_created_at: '2025-01-01T00:00:00Z',
      cc_onboarding_flags: {},
      claude_code_trial_ends_at: null,
      claude_code_trial_duration_days: null,
    },
  };
}

function authed(req: FakeRequest, ctx: RouteContext, body: (account: Account) => unknown): FakeReply {
  const auth = authorize(req, ctx);
  return auth.ok ? json(200, body(accountOf(ctx, auth.family))) : auth.reply;
}

export function route(req: FakeRequest, ctx: RouteContext): FakeReply {
  const p = req.path.replace(/\/+$/, '') || '/';
  const m = req.method.toUpperCase();
  if (m === 'POST' && p === '/v1/oauth/token') return tokenEndpoint(req, ctx);
  if (m === 'POST' && p === '/v1/messages') return messages(req, ctx);
  if (m === 'POST' && p === '/v1/messages/count_tokens') return authed(req, ctx, () => ({ input_tokens: 1 }));
  if (m === 'GET' && (p === '/api/oauth/profile' || p === '/api/claude_cli_profile')) return authed(req, ctx, profile);
  if (m === 'GET' && p === '/api/oauth/claude_cli/roles') {
    return authed(req, ctx, (a) => ({ organization_role: 'admin', workspace_role: null, organization_name: a.organizationName }));
  }
  // Connectivity probes the interactive CLI makes before its first screen.
  if (m === 'GET' && (p === '/api/hello' || p === '/v1/oauth/hello')) return json(200, { message: 'hello' });
  return notFound(req);
}

/** Count one answered request (the proxy calls this for every request, plain or tunnelled). */
export function record(stats: Stats, req: { method: string; host: string; path: string }, status: number): void {
  stats.byPath[req.path] = (stats.byPath[req.path] ?? 0) + 1;
  stats.requests.push({ method: req.method, host: req.host, path: req.path, status });
}
