// Prints the closing line CI reads, "N passed, N failed[, N skipped]", for vitest and bats
// together, and exits 0 exactly when it says "0 failed". The runners' exit statuses are part
// of the evidence: vitest's JSON report drops unhandled errors (it says "success": true with
// every test passed while vitest exits 1), a failed global setup leaves a report with no test
// at all, and a runner that is missing, killed or crashed leaves no report or a short one.
// Whatever a report cannot account for counts as one failure, with a line saying why.
//
//   node scripts/test-summary.mjs --vitest-report FILE --vitest-status N --since MS
//                                 [--bats-tap FILE --bats-status N]
import fs from "node:fs";

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i], process.argv[i + 1]);

let passed = 0, failed = 0, skipped = 0;
const problem = (why) => {
  failed++;
  console.log(`counted as a failure: ${why}`);
};

function vitest(reportFile, status, since) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(reportFile, "utf8"));
  } catch {
    return problem(`no vitest report at ${reportFile} (vitest missing, killed or crashed; exit status ${status})`);
  }
  if (!(report.startTime >= since)) return problem(`the vitest report at ${reportFile} is from an earlier run (vitest did not write one this time; exit status ${status})`);
  passed += report.numPassedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  const failedTests = report.numFailedTests;
  failed += failedTests;
  // A file that failed to load has no failed test of its own: count it once.
  const brokenFiles = report.testResults.filter((file) => file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed")).length;
  failed += brokenFiles;
  if (failedTests + brokenFiles > 0) return;
  if (report.numTotalTests === 0 && report.success === false) return problem(`vitest ran no test (a failed global setup?); exit status ${status}`);
  if (report.success === false) return problem(`vitest reported failure without a failed test; exit status ${status}`);
  if (status !== 0) return problem(`vitest exited ${status} although every test passed (an unhandled error, or a failed teardown)`);
}

function bats(tapFile, status) {
  let lines;
  try {
    lines = fs.readFileSync(tapFile, "utf8").split("\n");
  } catch {
    return problem(`no bats output at ${tapFile} (exit status ${status})`);
  }
  let results = 0, notOk = 0;
  for (const line of lines) {
    if (/^ok .*# skip/i.test(line)) (skipped++, results++);
    else if (/^ok /.test(line)) (passed++, results++);
    else if (/^not ok /.test(line)) (failed++, notOk++, results++);
  }
  const plan = /^1\.\.(\d+)$/m.exec(lines.join("\n"));
  if (!plan) return problem(`bats printed no test plan (bats missing or crashed; exit status ${status})`);
  if (results < Number(plan[1])) return problem(`bats ran ${results} of the ${plan[1]} tests it planned (exit status ${status})`);
  if (status !== 0 && notOk === 0) return problem(`bats exited ${status} although every test passed`);
}

vitest(args.get("--vitest-report"), Number(args.get("--vitest-status")), Number(args.get("--since") ?? 0));
if (args.has("--bats-tap")) bats(args.get("--bats-tap"), Number(args.get("--bats-status")));
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exitCode = failed > 0 ? 1 : 0;
