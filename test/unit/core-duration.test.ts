import { describe, expect, it } from "vitest";
import { formatDuration, formatRelative, parseDuration } from "../../core/duration";
import { UserError } from "../../core/errors";

describe("parseDuration: flag values such as --refresh-margin 15m", () => {
  it.each([
    ["500ms", 500],
    ["90s", 90_000],
    ["15m", 900_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["2h30m", 9_000_000],
    ["1h0m30s", 3_630_000],
    ["1.5h", 5_400_000],
    ["0s", 0],
    [" 10m ", 600_000],
  ])("%j is %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "10", "m", "10x", "1h 30m", "-5m", "ten minutes", "5m!", "1w"])("rejects %j as a usage error (exit 125) that shows the form", (text) => {
    let error: unknown;
    try {
      parseDuration(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(125);
    expect((error as UserError).message).toMatch(/invalid duration .*e\.g\. 90s, 10m/);
  });
});

describe("formatDuration / formatRelative: what health and refresh print", () => {
  it.each([
    [0, "0s"],
    [999, "0s"],
    [45_000, "45s"],
    [90_000, "1m 30s"],
    [3_600_000, "1h 0m"],
    [27_000_000, "7h 30m"],
    [86_400_000 + 3_600_000 * 5 + 60_000, "1d 5h"],
  ])("%i ms reads %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(formatDuration(-ms)).toBe(text);
  });

  it("says in … for the future and … ago for the past", () => {
    expect(formatRelative(600_000)).toBe("in 10m 0s");
    expect(formatRelative(-7_200_000)).toBe("2h 0m ago");
  });

  it("round-trips through parseDuration at its own precision", () => {
    expect(parseDuration(formatDuration(27_000_000).replace(" ", ""))).toBe(27_000_000);
  });
});
