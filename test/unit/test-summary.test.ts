// The closing line of `npm test` (scripts/test-summary.mjs), fed crafted runner reports: it
// must say "0 failed" exactly when it exits 0, and it must not say "0 failed" whenever a
// runner failed in a way its report does not show.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/entrypoint";
import { tempRoot } from "../support/fixtures";

const SINCE = 1_800_000_000_000;

type TestStatus = "passed" | "failed" | "skipped";

/** A report shaped as vitest 4's JSON reporter writes it. */
function vitestReport(files: Record<string, TestStatus[]>, options: { success?: boolean; startTime?: number; loadFailed?: string[] } = {}) {
  const all = Object.values(files).flat();
  const count = (s: TestStatus) => all.filter((t) => t === s).length;
  const testResults = [
    ...Object.entries(files).map(([name, tests]) => ({
      name,
      status: tests.includes("failed") ? "failed" : "passed",
      assertionResults: tests.map((status, i) => ({ title: `test ${i}`, status: status === "skipped" ? "pending" : status })),
    })),
    ...(options.loadFailed ?? []).map((name) => ({ name, status: "failed", message: "Failed to load", assertionResults: [] })),
  ];
  return {
    numTotalTests: all.length,
    numPassedTests: count("passed"),
    numFailedTests: count("failed"),
    numPendingTests: count("skipped"),
    numTodoTests: 0,
    startTime: options.startTime ?? SINCE + 10,
    success: options.success ?? (count("failed") === 0 && !options.loadFailed?.length),
    testResults,
  };
}

const TAP_OK = "1..3\nok 1 metadata\nok 2 help\nok 3 version # skip no engine\n";

type Case = { report?: unknown; vitestStatus: number; tap?: string | null; batsStatus?: number };

/** Runs the summary on the case's files; its output lines, the closing line and its exit status. */
function summarize(c: Case) {
  const dir = tempRoot("claudeauth-summary-");
  const report = path.join(dir, "vitest-report.json");
  if (c.report !== undefined) fs.writeFileSync(report, typeof c.report === "string" ? c.report : JSON.stringify(c.report));
  const args = ["--vitest-report", report, "--vitest-status", String(c.vitestStatus), "--since", String(SINCE)];
  if (c.tap !== undefined) {
    const tap = path.join(dir, "bats.tap");
    if (c.tap !== null) fs.writeFileSync(tap, c.tap);
    args.push("--bats-tap", tap, "--bats-status", String(c.batsStatus ?? 0));
  }
  const result = spawnSync(process.execPath, [path.join(ROOT, "scripts/test-summary.mjs"), ...args], { encoding: "utf8" });
  const lines = result.stdout.trim().split("\n");
  const last = lines.at(-1)!;
  // Whatever the case: the closing line is the last line, and it agrees with the exit status.
  expect(last).toMatch(/^\d+ passed, \d+ failed(, \d+ skipped)?$/);
  expect(result.status).toBe(/ 0 failed/.test(last) ? 0 : 1);
  expect(result.stderr).toBe("");
  return { last, reasons: lines.slice(0, -1), status: result.status };
}

describe("the closing line of npm test", () => {
  it("all pass: counts vitest and bats together, skips apart; exit 0", () => {
    const r = summarize({ report: vitestReport({ a: ["passed", "passed"], b: ["passed", "skipped"] }), vitestStatus: 0, tap: TAP_OK });
    expect(r).toEqual({ last: "5 passed, 0 failed, 2 skipped", reasons: [], status: 0 });
  });

  it("a failing test: counted once; exit 1", () => {
    const r = summarize({ report: vitestReport({ a: ["passed", "failed"] }), vitestStatus: 1, tap: TAP_OK });
    expect(r).toEqual({ last: "3 passed, 1 failed, 1 skipped", reasons: [], status: 1 });
  });

  it("a test file that failed to load: counted as one failure", () => {
    const r = summarize({ report: vitestReport({ a: ["passed"] }, { loadFailed: ["b"] }), vitestStatus: 1 });
    expect(r.last).toBe("1 passed, 1 failed");
  });

  it("an unhandled error (the report says success with every test passed, vitest exits 1): a failure", () => {
    const r = summarize({ report: vitestReport({ a: ["passed", "passed"] }, { success: true }), vitestStatus: 1, tap: TAP_OK });
    expect(r.last).toBe("4 passed, 1 failed, 1 skipped");
    expect(r.reasons).toEqual(["counted as a failure: vitest exited 1 although every test passed (an unhandled error, or a failed teardown)"]);
  });

  it("a failed global setup (a report with no test, success false): a failure", () => {
    const r = summarize({ report: vitestReport({}, { success: false }), vitestStatus: 1 });
    expect(r.last).toBe("0 passed, 1 failed");
    expect(r.reasons).toEqual(["counted as a failure: vitest ran no test (a failed global setup?); exit status 1"]);
  });

  it("a missing report (vitest missing, killed or crashed): a failure, whatever the exit status says", () => {
    for (const status of [0, 1, 127, 137]) {
      const r = summarize({ vitestStatus: status });
      expect(r.last).toBe("0 passed, 1 failed");
      expect(r.reasons[0]).toMatch(/^counted as a failure: no vitest report at .* \(vitest missing, killed or crashed; exit status \d+\)$/);
    }
  });

  it("a report left by an earlier run (vitest killed before writing its own): a failure", () => {
    const r = summarize({ report: vitestReport({ a: ["passed"] }, { startTime: SINCE - 60_000 }), vitestStatus: 137, tap: TAP_OK });
    expect(r.last).toBe("2 passed, 1 failed, 1 skipped");
    expect(r.reasons[0]).toMatch(/is from an earlier run/);
  });

  it("a report that is not JSON (cut short): a failure", () => {
    const r = summarize({ report: JSON.stringify(vitestReport({ a: ["passed"] })).slice(0, 40), vitestStatus: 0 });
    expect(r.last).toBe("0 passed, 1 failed");
  });

  it("a bats failure: counted; exit 1", () => {
    const r = summarize({ report: vitestReport({ a: ["passed"] }), vitestStatus: 0, tap: "1..2\nok 1 metadata\nnot ok 2 help\n# (in test file test/bats/plugin.bats, line 9)\n", batsStatus: 1 });
    expect(r).toEqual({ last: "2 passed, 1 failed", reasons: [], status: 1 });
  });

  it("a missing bats (no output at all, exit 127): a failure, not zero tests", () => {
    const r = summarize({ report: vitestReport({ a: ["passed"] }), vitestStatus: 0, tap: null, batsStatus: 127 });
    expect(r.last).toBe("1 passed, 1 failed");
    expect(r.reasons[0]).toMatch(/no bats output at .*exit status 127/);
    const empty = summarize({ report: vitestReport({ a: ["passed"] }), vitestStatus: 0, tap: "", batsStatus: 127 });
    expect(empty.reasons).toEqual(["counted as a failure: bats printed no test plan (bats missing or crashed; exit status 127)"]);
  });

  it("bats that crashed part way (fewer results than its plan): a failure", () => {
    const r = summarize({ report: vitestReport({ a: ["passed"] }), vitestStatus: 0, tap: "1..5\nok 1 a\nok 2 b\n", batsStatus: 1 });
    expect(r.last).toBe("3 passed, 1 failed");
    expect(r.reasons).toEqual(["counted as a failure: bats ran 2 of the 5 tests it planned (exit status 1)"]);
  });

  it("bats that exits non-zero with every test passed: a failure", () => {
    const r = summarize({ report: vitestReport({ a: ["passed"] }), vitestStatus: 0, tap: "1..1\nok 1 a\n", batsStatus: 1 });
    expect(r.last).toBe("2 passed, 1 failed");
  });
});
