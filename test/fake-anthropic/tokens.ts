// The token/family state machine of the fake OAuth server. Pure: no I/O, the clock is passed in,
// randomness is injectable. It mimics what makes the real service hard to share a login with:
// refresh tokens are single-use and rotate, and replaying a spent one revokes the whole family
// (every access and refresh token descended from that login), as OAuth 2.0 Security BCP §4.14 advises.
import { randomBytes as nodeRandomBytes } from 'node:crypto';

export const DEFAULT_SCOPES = [
  'user:inference',
  'user:profile',
  'user:sessions:claude_code',
  'user:mcp_servers',
  'user:file_upload',
];

/** What the Claude CLI keeps under `claudeAiOauth` in `~/.claude/.credentials.json`. */
export interface Credentials {
  accessToken: string;
  refreshToken: string;
  expiresAt: number; // ms since epoch
  scopes: string[];
  subscriptionType: 'max';
  rateLimitTier: string;
}

export type FamilyKind = 'login' | 'long-lived';

export interface Family {
  id: string;
  kind: FamilyKind;
  createdAt: number;
  revoked: boolean;
  scopes: string[];
  accessTokens: string[]; // oldest first
  refreshTokens: string[]; // oldest first; only the last one can be unspent
}

interface AccessRecord {
  family: string;
  expiresAt: number;
  revoked: boolean;
}

interface RefreshRecord {
  family: string;
  spent: boolean;
}

export type AccessCheck =
  | { ok: true; family: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' };

export type RefreshResult =
  | { ok: true; family: string; accessToken: string; refreshToken: string; expiresIn: number; scopes: string[] }
  | {
      ok: false;
      error: 'invalid_grant';
      reason: 'unknown' | 'reused' | 'revoked';
      description: string;
      /** Set when this call revoked a family (reuse of a spent refresh token). */
      revokedFamily?: string;
    };

export interface TokenStoreOptions {
  accessTokenTtlSeconds: number;
  longLivedTtlSeconds: number;
  scopes?: string[];
  randomBytes?: (n: number) => Buffer;
  /** Told every token minted (the tests' token scanner tracks them). */
  onMint?: (token: string) => void;
}

export class TokenStore {
  private families = new Map<string, Family>();
  private access = new Map<string, AccessRecord>();
  private refreshes = new Map<string, RefreshRecord>();
  private lastLoginFamily: string | undefined;
  private readonly rand: (n: number) => Buffer;

  constructor(private readonly opts: TokenStoreOptions) {
    this.rand = opts.randomBytes ?? nodeRandomBytes;
  }

  // Real tokens: "sk-ant-oat01-" / "sk-ant-ort01-" + ~90 base64url chars ending in "AA".
  // Same shape here so redaction checks in other tests catch what they would catch in production.
  private token(prefix: 'oat01' | 'ort01'): string {
    const token = `sk-ant-${prefix}-${this.rand(70).toString('base64url')}AA`;
    this.opts.onMint?.(token);
    return token;
  }

  private newFamily(kind: FamilyKind, now: number): Family {
    const f: Family = {
      id: `fam_${this.rand(9).toString('base64url')}`,
      kind,
      createdAt: now,
      revoked: false,
      scopes: [...(this.opts.scopes ?? DEFAULT_SCOPES)],
      accessTokens: [],
      refreshTokens: [],
    };
    this.families.set(f.id, f);
    return f;
  }

  private mintAccess(f: Family, now: number, ttlSeconds: number): string {
    const t = this.token('oat01');
    this.access.set(t, { family: f.id, expiresAt: now + ttlSeconds * 1000, revoked: false });
    f.accessTokens.push(t);
    return t;
  }

  private mintRefresh(f: Family): string {
    const t = this.token('ort01');
    this.refreshes.set(t, { family: f.id, spent: false });
    f.refreshTokens.push(t);
    return t;
  }

  /** A fresh login (a new family), as `/login` would leave it on disk. */
  login(now: number, ttlSeconds = this.opts.accessTokenTtlSeconds): Credentials & { family: string } {
    const f = this.newFamily('login', now);
    this.lastLoginFamily = f.id;
    return {
      accessToken: this.mintAccess(f, now, ttlSeconds),
      refreshToken: this.mintRefresh(f),
      expiresAt: now + ttlSeconds * 1000,
      scopes: [...f.scopes],
      subscriptionType: 'max',
      rateLimitTier: 'default_claude_max_20x',
      family: f.id,
    };
  }

  /** What `claude setup-token` prints: an access token with a long life and no refresh token. */
  issueLongLived(now: number): { token: string; family: string; expiresAt: number } {
    const f = this.newFamily('long-lived', now);
    f.scopes = ['user:inference'];
    const token = this.mintAccess(f, now, this.opts.longLivedTtlSeconds);
    return { token, family: f.id, expiresAt: this.access.get(token)!.expiresAt };
  }

  refresh(refreshToken: string, now: number, requestedScopes?: string[]): RefreshResult {
    const rec = this.refreshes.get(refreshToken);
    if (!rec) return { ok: false, error: 'invalid_grant', reason: 'unknown', description: 'Invalid refresh token' };
    const f = this.families.get(rec.family)!;
    if (f.revoked) {
      return { ok: false, error: 'invalid_grant', reason: 'revoked', description: 'Refresh token has been revoked' };
    }
    if (rec.spent) {
      // Replay: someone holds a copy of a token that was already rotated. We cannot tell which
      // holder is legitimate, so (like real servers) we kill the whole family.
      this.revokeFamily(f.id);
      return {
        ok: false,
        error: 'invalid_grant',
        reason: 'reused',
        description: 'Refresh token has already been used; all tokens of this grant are revoked',
        revokedFamily: f.id,
      };
    }
    rec.spent = true;
    const ttl = this.opts.accessTokenTtlSeconds;
    const scopes = requestedScopes && requestedScopes.length ? requestedScopes : f.scopes;
    return {
      ok: true,
      family: f.id,
      accessToken: this.mintAccess(f, now, ttl),
      refreshToken: this.mintRefresh(f),
      expiresIn: ttl,
      scopes,
    };
  }

  /** Scopes a refresh may ask for: those every login is granted. */
  grantableScopes(): string[] {
    return [...(this.opts.scopes ?? DEFAULT_SCOPES)];
  }

  checkAccess(token: string, now: number): AccessCheck {
    const rec = this.access.get(token);
    if (!rec) return { ok: false, reason: 'unknown' };
    if (rec.revoked || this.families.get(rec.family)!.revoked) return { ok: false, reason: 'revoked' };
    if (now >= rec.expiresAt) return { ok: false, reason: 'expired' };
    return { ok: true, family: rec.family };
  }

  /** Revoke every token of a family; returns false when it already was. */
  revokeFamily(id: string): boolean {
    const f = this.families.get(id);
    if (!f || f.revoked) return false;
    f.revoked = true;
    for (const t of f.accessTokens) this.access.get(t)!.revoked = true;
    for (const t of f.refreshTokens) this.refreshes.get(t)!.spent = true;
    return true;
  }

  /** Revoke one access token only (the family and its refresh token stay usable). */
  revokeAccessToken(token: string): boolean {
    const rec = this.access.get(token);
    if (!rec || rec.revoked) return false;
    rec.revoked = true;
    return true;
  }

  /** Family id of any token, or undefined. */
  familyOf(token: string): string | undefined {
    return this.access.get(token)?.family ?? this.refreshes.get(token)?.family;
  }

  /** Accepts a family id or any token of the family; defaults to the newest login. */
  family(ref?: string): Family | undefined {
    const id = ref === undefined ? this.lastLoginFamily : this.families.has(ref) ? ref : this.familyOf(ref);
    return id === undefined ? undefined : this.families.get(id);
  }

  latestRefreshToken(ref?: string): string | undefined {
    return this.family(ref)?.refreshTokens.at(-1);
  }

  latestAccessToken(ref?: string): string | undefined {
    return this.family(ref)?.accessTokens.at(-1);
  }

  reset(): void {
    this.families.clear();
    this.access.clear();
    this.refreshes.clear();
    this.lastLoginFamily = undefined;
  }
}
