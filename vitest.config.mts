import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/scan-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 900_000,
    maxWorkers: 2,
    reporters: ["default", ["json", { outputFile: ".cache/vitest-report.json" }]],
  },
});
