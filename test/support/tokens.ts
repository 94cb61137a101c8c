import { expect } from "vitest";
import { describeLeaks, findTokens } from "./token-scan";

// An output a test holds in hand, checked on the spot with the shared scanner (the spawn
// helpers in test/support scan every output anyway; this fails at the line that looked).
export function expectNoTokens(...outputs: Array<string | { stdout: string; stderr: string }>): void {
  for (const output of outputs) {
    const text = typeof output === "string" ? output : `${output.stdout}\n${output.stderr}`;
    const findings = findTokens(text);
    // The message itself must not leak the token into the test report: only what was found.
    if (findings.length) expect.fail(`token material in the output:\n${describeLeaks([{ source: "output", findings }])}`);
  }
}
