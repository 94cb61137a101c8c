import { afterAll, afterEach, expect } from "vitest";
import { describeLeaks, takeLeaks } from "./token-scan";

// Loaded before every test file (vitest setupFiles): whatever a spawn helper saw during a
// test fails that test; what processes started in a hook printed fails the file.
function failOnLeaks(): void {
  const leaks = takeLeaks();
  if (leaks.length) expect.fail(`token material in the output of spawned processes:\n${describeLeaks(leaks)}`);
}
afterEach(failOnLeaks);
afterAll(failOnLeaks);
