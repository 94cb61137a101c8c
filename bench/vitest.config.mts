import { defineConfig } from "vitest/config";

// Benchmarks that need the TypeScript test support (the soak): run by vitest, not counted as tests.
export default defineConfig({
  test: {
    include: ["bench/**/*.bench.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/scan-setup.ts"],
    testTimeout: 4 * 3_600_000,
    hookTimeout: 900_000,
  },
});
