// When to ask the token endpoint again after a 429 or a 5xx. Retry-After (seconds, or an
// HTTP date) is a floor, never shortened; without one the wait doubles from a second. Each
// wait gets up to a fifth more at random, so runs turned away together do not come back
// together. The total is bounded: the refresh holds the store lock while it waits, and
// every other run and refresh queues behind it (they give up after a minute).

export type BackoffPolicy = { attempts: number; baseMs: number; maxWaitMs: number; budgetMs: number };

export const REFRESH_BACKOFF: BackoffPolicy = { attempts: 4, baseMs: 1_000, maxWaitMs: 8_000, budgetMs: 20_000 };

/** Retry-After as milliseconds from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date starts with the day's name ("Thu, 01 Jan 2026 12:00:30 GMT"); Date.parse alone takes "-5" too.
  const date = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * How long to wait before attempt `attempt + 1` (attempt counts from 1), given what was
 * waited so far; `null` when the policy says stop (attempts spent, or the endpoint asks for
 * longer than the budget left: waiting would only hold the lock and fail anyway).
 */
export function nextWait(policy: BackoffPolicy, attempt: number, waitedMs: number, retryAfterMs: number | null, random = Math.random): number | null {
  if (attempt >= policy.attempts) return null;
  const backoff = Math.min(policy.baseMs * 2 ** (attempt - 1), policy.maxWaitMs);
  const floor = Math.max(retryAfterMs ?? 0, backoff);
  const wait = Math.round(floor * (1 + random() / 5));
  return retryAfterMs !== null && retryAfterMs > policy.budgetMs - waitedMs ? null : Math.min(wait, Math.max(floor, policy.budgetMs - waitedMs));
}
