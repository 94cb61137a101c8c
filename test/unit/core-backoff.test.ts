// When refresh asks the token endpoint again after a 429 or a 5xx (core/backoff.ts).
import { describe, expect, it } from "vitest";
import { nextWait, parseRetryAfter, REFRESH_BACKOFF } from "../../core/backoff";

const NOW = Date.parse("2026-01-01T12:00:00Z");

describe("parseRetryAfter", () => {
  it.each([
    ["5", 5000],
    [" 0 ", 0],
    ["Thu, 01 Jan 2026 12:00:30 GMT", 30_000],
    ["Thu, 01 Jan 2026 11:00:00 GMT", 0], // a date in the past: no wait
  ])("%j → %i ms", (value, ms) => expect(parseRetryAfter(value, NOW)).toBe(ms));

  it.each([[null], ["soon"], ["-5"], ["1.5"]])("%j → null (no usable header)", (value) => expect(parseRetryAfter(value, NOW)).toBeNull());
});

describe("nextWait", () => {
  const none = () => 0;
  const most = () => 0.999;

  it("doubles from a second without Retry-After, up to the attempts allowed", () => {
    expect([1, 2, 3].map((attempt) => nextWait(REFRESH_BACKOFF, attempt, 0, null, none))).toEqual([1000, 2000, 4000]);
    expect(nextWait(REFRESH_BACKOFF, REFRESH_BACKOFF.attempts, 0, null, none)).toBeNull();
  });

  it("never waits less than Retry-After, and adds up to a fifth at random", () => {
    expect(nextWait(REFRESH_BACKOFF, 1, 0, 5000, none)).toBe(5000);
    const most5 = nextWait(REFRESH_BACKOFF, 1, 0, 5000, most)!;
    expect(most5).toBeGreaterThan(5900);
    expect(most5).toBeLessThanOrEqual(6000);
  });

  it("stops at once when the endpoint asks for longer than the budget left: waiting would only hold the store lock", () => {
    expect(nextWait(REFRESH_BACKOFF, 1, 0, REFRESH_BACKOFF.budgetMs + 1000, none)).toBeNull();
    expect(nextWait(REFRESH_BACKOFF, 2, 15_000, 8000, none)).toBeNull();
  });

  it("the total wait stays within the budget", () => {
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      const wait = nextWait(REFRESH_BACKOFF, attempt, waited, null, most);
      if (wait === null) break;
      waited += wait;
    }
    expect(waited).toBeLessThanOrEqual(REFRESH_BACKOFF.budgetMs);
  });
});
