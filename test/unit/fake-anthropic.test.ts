// Spec of the fake Anthropic endpoint used by integration tests. Everything goes through the proxy
// the way the Claude CLI does: CONNECT, TLS checked against the test CA, then HTTP/1.1.
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OAUTH, startFakeAnthropic, type FakeAnthropic } from '../fake-anthropic';

const SCOPE = 'user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
  peerCert: tls.PeerCertificate;
}

/** One request through the proxy: CONNECT host:443, TLS verified against our CA only, HTTP/1.1. */
async function viaProxy(
  fake: FakeAnthropic,
  opts: { host?: string; method?: string; path: string; headers?: Record<string, string>; body?: unknown },
): Promise<Reply> {
  const host = opts.host ?? 'api.anthropic.com';
  const raw = await new Promise<import('node:net').Socket>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: fake.port, method: 'CONNECT', path: `${host}:443` });
    req.on('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${res.statusCode}`))));
    req.on('error', reject);
    req.end();
  });
  const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
    // `ca` replaces the system roots: only our CA can make this handshake succeed.
    const s = tls.connect({ socket: raw, servername: host, ca: readFileSync(fake.caPath), ALPNProtocols: ['http/1.1'] }, () => resolve(s));
    s.on('error', reject);
  });
  const peerCert = secure.getPeerCertificate();
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      {
        host,
        method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
        path: opts.path,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        createConnection: () => secure,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          secure.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, peerCert });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const refresh = (fake: FakeAnthropic, refreshToken: string, host = 'platform.claude.com') =>
  viaProxy(fake, {
    host,
    path: '/v1/oauth/token',
    body: { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: OAUTH.clientId, scope: SCOPE },
  });

const ask = (fake: FakeAnthropic, accessToken: string, extra: Record<string, unknown> = {}, header: 'bearer' | 'x-api-key' = 'bearer') =>
  viaProxy(fake, {
    path: '/v1/messages?beta=true',
    headers: header === 'bearer' ? { authorization: `Bearer ${accessToken}` } : { 'x-api-key': accessToken },
    body: { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...extra },
  });

describe('fake Anthropic endpoint', () => {
  let clock = Date.now();
  let fake: FakeAnthropic;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ accessTokenTtlSeconds: 3600, now: () => clock });
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    clock = Date.now();
    fake.reset();
  });

  describe('set-up', () => {
    it('listens on loopback and exposes a world-readable CA', () => {
      expect(fake.proxyUrl).toBe(`http://127.0.0.1:${fake.port}`);
      expect(readFileSync(fake.caPath, 'utf8')).toContain('BEGIN CERTIFICATE');
      expect(statSync(fake.caPath).mode & 0o044).toBe(0o044);
    });

    it.each(['api.anthropic.com', 'platform.claude.com', 'console.anthropic.com'])(
      'presents a leaf for %s that the CA verifies',
      async (host) => {
        const r = await viaProxy(fake, { host, path: '/nothing-here' });
        expect(r.status).toBe(404); // the handshake itself is the check: tls.connect rejects otherwise
        expect(r.peerCert.subjectaltname).toBe(`DNS:${host}`);
      },
    );

    it('refuses plain-HTTP proxying with a 404', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: fake.port, path: 'http://api.anthropic.com/v1/messages', method: 'POST' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
      expect(status).toBe(404);
    });
  });

  describe('login() and token shapes', () => {
    it('returns credentials shaped as the CLI stores claudeAiOauth', () => {
      const c = fake.login();
      expect(c.accessToken).toMatch(/^sk-ant-oat01-[A-Za-z0-9_-]{40,}$/);
      expect(c.refreshToken).toMatch(/^sk-ant-ort01-[A-Za-z0-9_-]{40,}$/);
      expect(c.expiresAt).toBe(clock + 3600 * 1000);
      expect(c.scopes).toContain('user:inference');
      expect(c.subscriptionType).toBe('max');
      expect(fake.latestRefreshToken()).toBe(c.refreshToken);
    });
  });

  describe('POST /v1/oauth/token', () => {
    it('rotates: a valid refresh token gives new tokens and is spent', async () => {
      const c = fake.login();
      const r = await refresh(fake, c.refreshToken);
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: SCOPE });
      expect(r.json.access_token).toMatch(/^sk-ant-oat01-/);
      expect(r.json.refresh_token).toMatch(/^sk-ant-ort01-/);
      expect(r.json.refresh_token).not.toBe(c.refreshToken);
      expect(r.json.account).toEqual({ uuid: expect.any(String), email_address: expect.any(String) });
      expect(r.json.organization).toEqual({ uuid: expect.any(String), name: expect.any(String) });
      expect(fake.latestRefreshToken()).toBe(r.json.refresh_token);
      expect(fake.latestRefreshToken(c.accessToken)).toBe(r.json.refresh_token);
      // Both the old and new access tokens stay good until they expire.
      expect((await ask(fake, c.accessToken)).status).toBe(200);
      expect((await ask(fake, r.json.access_token)).status).toBe(200);
      // And the new refresh token rotates again.
      const r2 = await refresh(fake, r.json.refresh_token);
      expect(r2.status).toBe(200);
      expect(fake.stats.refreshOk).toBe(2);
    });

    it('reuse of a spent refresh token gives invalid_grant and revokes the whole family', async () => {
      const c = fake.login();
      const first = await refresh(fake, c.refreshToken);
      expect(first.status).toBe(200);

      const replay = await refresh(fake, c.refreshToken);
      expect(replay.status).toBe(400);
      expect(replay.json).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });

      // The holder that refreshed first is punished too: newest access and refresh tokens are dead.
      expect((await ask(fake, first.json.access_token)).status).toBe(401);
      expect((await ask(fake, c.accessToken)).status).toBe(401);
      expect((await refresh(fake, first.json.refresh_token)).json.error).toBe('invalid_grant');
      expect(fake.family(c.accessToken)?.revoked).toBe(true);
      expect(fake.stats).toMatchObject({ refreshOk: 1, invalidGrant: 2, familiesRevoked: 1 });
    });

    it('revokes only the replayed family', async () => {
      const a = fake.login();
      const b = fake.login();
      await refresh(fake, a.refreshToken);
      await refresh(fake, a.refreshToken);
      expect((await ask(fake, b.accessToken)).status).toBe(200);
      expect((await refresh(fake, b.refreshToken)).status).toBe(200);
    });

    it('answers an unknown refresh token with invalid_grant', async () => {
      const r = await refresh(fake, 'sk-ant-ort01-' + 'x'.repeat(60));
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('invalid_grant');
      expect(fake.stats.familiesRevoked).toBe(0);
    });

  });

  // What the real endpoint insists on: a client built with another client id, token URL, grant
  // type, scope or encoding fails here as it would in production. A refused request spends nothing.
  describe('holdNextTokenRequest()', () => {
    it('holds the next token request unprocessed until released: nothing is spent meanwhile', async () => {
      const c = fake.login();
      const gate = fake.holdNextTokenRequest();
      let answered = false;
      const pending = refresh(fake, c.refreshToken).then((r) => ((answered = true), r));
      await gate.arrived;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(answered).toBe(false);
      expect(fake.stats.refreshOk).toBe(0);
      expect(fake.latestRefreshToken()).toBe(c.refreshToken);
      gate.release();
      const r = await pending;
      expect(r.status).toBe(200);
      expect(fake.latestRefreshToken()).toBe(r.json.refresh_token);
      // Only the next one: the request after it is answered at once.
      expect((await refresh(fake, r.json.refresh_token)).status).toBe(200);
    });
  });

  describe('POST /v1/oauth/token refuses what the real endpoint refuses', () => {
    const post = (body: unknown, opts: { host?: string; path?: string; headers?: Record<string, string> } = {}) =>
      viaProxy(fake, { host: opts.host ?? OAUTH.host, path: opts.path ?? OAUTH.path, body, headers: opts.headers });
    const good = (refreshToken: string) => ({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: OAUTH.clientId, scope: SCOPE });

    /** The refusal left the token alone: it still refreshes, once. */
    async function expectUnspent(refreshToken: string) {
      expect(fake.stats.refreshOk).toBe(0);
      expect(fake.stats.invalidGrant).toBe(0);
      expect((await refresh(fake, refreshToken)).status).toBe(200);
    }

    it.each(['api.anthropic.com', 'console.anthropic.com', 'claude.ai'])('another host (%s) answers 404 not_found_error', async (host) => {
      const c = fake.login();
      const r = await post(good(c.refreshToken), { host });
      expect(r.status).toBe(404);
      expect(r.json).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
      await expectUnspent(c.refreshToken);
    });

    it.each(['/v1/oauth/token/x', '/oauth/token', '/v1/oauth/tokens'])('another path (%s) answers 404', async (p) => {
      const c = fake.login();
      expect((await post(good(c.refreshToken), { path: p })).status).toBe(404);
      await expectUnspent(c.refreshToken);
    });

    it('GET instead of POST answers 404', async () => {
      expect((await viaProxy(fake, { host: OAUTH.host, path: OAUTH.path })).status).toBe(404);
    });

    it('another client id: 400 invalid_client', async () => {
      const c = fake.login();
      const r = await post({ ...good(c.refreshToken), client_id: '00000000-0000-4000-8000-000000000000' });
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
      expect(fake.stats.tokenRequestsRefused).toBe(1);
      await expectUnspent(c.refreshToken);
    });

    it('no client id: 400 invalid_request', async () => {
      const c = fake.login();
      const { client_id: _omitted, ...body } = good(c.refreshToken);
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ error: 'invalid_request', error_description: 'client_id is required' });
      await expectUnspent(c.refreshToken);
    });

    it.each(['authorization_code', 'client_credentials', undefined])('grant type %s: 400 unsupported_grant_type', async (grant) => {
      const c = fake.login();
      const r = await post({ ...good(c.refreshToken), grant_type: grant });
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('unsupported_grant_type');
      await expectUnspent(c.refreshToken);
    });

    it('no refresh token: 400 invalid_request', async () => {
      const r = await post({ ...good(''), refresh_token: undefined });
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ error: 'invalid_request', error_description: 'refresh_token is required' });
    });

    it.each([
      ['a scope outside the grant', `${SCOPE} org:create_api_key`],
      ['an empty scope', ''],
      ['a scope that is not a string', ['user:inference']],
    ])('%s: 400 invalid_scope', async (_what, scope) => {
      const c = fake.login();
      const r = await post({ ...good(c.refreshToken), scope });
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('invalid_scope');
      await expectUnspent(c.refreshToken);
    });

    it('a narrower scope is granted as asked; no scope at all keeps the grant\'s', async () => {
      const c = fake.login();
      const narrow = await post({ ...good(c.refreshToken), scope: 'user:inference' });
      expect(narrow.status).toBe(200);
      expect(narrow.json.scope).toBe('user:inference');
      const { scope: _omitted, ...body } = good(narrow.json.refresh_token);
      const whole = await post(body);
      expect(whole.status).toBe(200);
      expect(whole.json.scope.split(' ').sort()).toEqual(SCOPE.split(' ').sort());
    });

    it.each([
      ['form-encoded', 'application/x-www-form-urlencoded'],
      ['text/plain', 'text/plain'],
    ])('a %s body: 400 invalid_request (the endpoint takes JSON)', async (_what, type) => {
      const c = fake.login();
      const body = new URLSearchParams(good(c.refreshToken)).toString();
      const r = await post(body, { headers: { 'content-type': type } });
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ error: 'invalid_request', error_description: 'Content-Type must be application/json' });
      await expectUnspent(c.refreshToken);
    });

    it('a body that is not JSON: 400 invalid_request', async () => {
      const r = await post('not json');
      expect(r.status).toBe(400);
      expect(r.json.error).toBe('invalid_request');
      expect(fake.stats.tokenRequestsRefused).toBe(1);
    });
  });

  describe('POST /v1/messages', () => {
    it('answers a live bearer token with a Messages API reply', async () => {
      const c = fake.login();
      const r = await ask(fake, c.accessToken);
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
      });
    });

    it('streams a minimal SSE reply when asked to', async () => {
      const c = fake.login();
      const r = await ask(fake, c.accessToken, { stream: true });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      const events = [...r.text.matchAll(/^event: (\S+)\ndata: (.*)$/gm)].map((m) => ({ event: m[1], data: JSON.parse(m[2]!) }));
      expect(events.map((e) => e.event)).toEqual([
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
      for (const e of events) expect(e.data.type).toBe(e.event);
      expect(events[2]!.data.delta).toEqual({ type: 'text_delta', text: 'ok' });
      expect(events[4]!.data).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } });
    });

    it('accepts the token as x-api-key too', async () => {
      const c = fake.login();
      expect((await ask(fake, c.accessToken, {}, 'x-api-key')).status).toBe(200);
      expect((await ask(fake, 'sk-ant-oat01-' + 'y'.repeat(60), {}, 'x-api-key')).status).toBe(401);
    });

    it('answers unknown, missing, or refresh tokens with 401 authentication_error', async () => {
      const c = fake.login();
      for (const token of ['sk-ant-oat01-' + 'z'.repeat(60), c.refreshToken]) {
        const r = await ask(fake, token);
        expect(r.status).toBe(401);
        expect(r.json).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'Invalid bearer token' } });
      }
      const none = await viaProxy(fake, { path: '/v1/messages', body: { messages: [] } });
      expect(none.status).toBe(401);
    });

    it('honours expiry', async () => {
      const c = fake.login();
      clock = c.expiresAt - 1;
      expect((await ask(fake, c.accessToken)).status).toBe(200);
      clock = c.expiresAt;
      expect((await ask(fake, c.accessToken)).status).toBe(401);
      // The refresh token outlives the access token.
      const r = await refresh(fake, c.refreshToken);
      expect(r.status).toBe(200);
      expect((await ask(fake, r.json.access_token)).status).toBe(200);
    });

    it('honours a shorter life asked of login()', async () => {
      const c = fake.login({ accessTokenTtlSeconds: 60 });
      expect(c.expiresAt).toBe(clock + 60_000);
      clock += 61_000;
      expect((await ask(fake, c.accessToken)).status).toBe(401);
    });

    it('revokeAccessToken() kills one access token but not its family', async () => {
      const c = fake.login();
      expect(fake.revokeAccessToken(c.accessToken)).toBe(true);
      expect((await ask(fake, c.accessToken)).status).toBe(401);
      const r = await refresh(fake, c.refreshToken);
      expect(r.status).toBe(200);
      expect((await ask(fake, r.json.access_token)).status).toBe(200);
    });

    it('count_tokens answers when authorized', async () => {
      const c = fake.login();
      const ok = await viaProxy(fake, { path: '/v1/messages/count_tokens?beta=true', headers: { authorization: `Bearer ${c.accessToken}` }, body: { messages: [] } });
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ input_tokens: 1 });
      const no = await viaProxy(fake, { path: '/v1/messages/count_tokens', body: { messages: [] } });
      expect(no.status).toBe(401);
    });
  });

  describe('issueLongLivedToken()', () => {
    it('gives a setup-token style token good for a year, with no refresh', async () => {
      const t = fake.issueLongLivedToken();
      expect(t).toMatch(/^sk-ant-oat01-[A-Za-z0-9_-]{40,}$/);
      clock += 364 * 24 * 3600 * 1000;
      expect((await ask(fake, t)).status).toBe(200);
      clock += 2 * 24 * 3600 * 1000;
      expect((await ask(fake, t)).status).toBe(401);
      expect(fake.latestRefreshToken(t)).toBeUndefined();
    });
  });

  describe('account look-ups', () => {
    it('answers profile and roles when authorized, 401 otherwise', async () => {
      const c = fake.login();
      const auth = { authorization: `Bearer ${c.accessToken}` };
      const profile = await viaProxy(fake, { path: '/api/oauth/profile', headers: auth });
      expect(profile.status).toBe(200);
      expect(profile.json).toMatchObject({
        account: { uuid: expect.any(String), email: expect.any(String) },
        organization: { uuid: expect.any(String), organization_type: 'claude_max', rate_limit_tier: 'default_claude_max_20x' },
      });
      const roles = await viaProxy(fake, { path: '/api/oauth/claude_cli/roles', headers: auth });
      expect(roles.status).toBe(200);
      expect(roles.json).toMatchObject({ organization_role: expect.any(String) });
      expect((await viaProxy(fake, { path: '/api/oauth/profile' })).status).toBe(401);
    });

    it('answers every other path with a JSON 404', async () => {
      const r = await viaProxy(fake, { path: '/api/claude_cli/bootstrap' });
      expect(r.status).toBe(404);
      expect(r.json.type).toBe('error');
    });
  });

  describe('stats', () => {
    it('counts every request by path and keeps a log', async () => {
      const c = fake.login();
      await ask(fake, c.accessToken);
      await ask(fake, 'sk-ant-oat01-' + 'q'.repeat(60));
      await refresh(fake, c.refreshToken);
      await viaProxy(fake, { host: 'statsig.anthropic.com', path: '/v1/initialize' });
      expect(fake.stats).toMatchObject({ messagesOk: 1, messages401: 1, refreshOk: 1, invalidGrant: 0 });
      expect(fake.stats.byPath).toEqual({ '/v1/messages': 2, '/v1/oauth/token': 1, '/v1/initialize': 1 });
      expect(fake.stats.requests).toEqual([
        { method: 'POST', host: 'api.anthropic.com', path: '/v1/messages', status: 200 },
        { method: 'POST', host: 'api.anthropic.com', path: '/v1/messages', status: 401 },
        { method: 'POST', host: 'platform.claude.com', path: '/v1/oauth/token', status: 200 },
        { method: 'GET', host: 'statsig.anthropic.com', path: '/v1/initialize', status: 404 },
      ]);
    });

    it('reset() forgets tokens and zeroes the counters', async () => {
      const c = fake.login();
      await ask(fake, c.accessToken);
      fake.reset();
      expect(fake.stats.requests).toEqual([]);
      expect(fake.latestRefreshToken()).toBeUndefined();
      expect((await ask(fake, c.accessToken)).status).toBe(401);
    });
  });
});
