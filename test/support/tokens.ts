import { expect } from "vitest";
import { containsTokenShape, redact } from "../../core/redact";

// Every output a test captures passes this scan: nothing shaped like an Anthropic token,
// and none of the secrets this test process registered (every token the fixtures made,
// every token the core read), may appear in what the binaries print.
export function expectNoTokens(...outputs: Array<string | { stdout: string; stderr: string }>): void {
  for (const output of outputs) {
    const text = typeof output === "string" ? output : `${output.stdout}\n${output.stderr}`;
    if (containsTokenShape(text)) {
      // The message itself must not leak the token into the test report.
      expect.fail(`a token (or a registered secret) appears in the output:\n${redact(text)}`);
    }
  }
}
