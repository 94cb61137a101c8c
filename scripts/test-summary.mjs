// Prints the closing line CI reads: "N passed, N failed[, N skipped]" for vitest and bats together.
import fs from "node:fs";

const [vitestJson, batsTap] = process.argv.slice(2);
let passed = 0, failed = 0, skipped = 0;
try {
  const report = JSON.parse(fs.readFileSync(vitestJson, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // A file that failed to load has no failed test of its own: count it once.
  failed += report.testResults.filter((file) => file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed")).length;
} catch {
  failed += 1; // no report: vitest did not run
}
for (const line of fs.existsSync(batsTap) ? fs.readFileSync(batsTap, "utf8").split("\n") : []) {
  if (/^ok .*# skip/i.test(line)) skipped++;
  else if (/^ok /.test(line)) passed++;
  else if (/^not ok /.test(line)) failed++;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
