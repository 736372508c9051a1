import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files share one migrated database; each test writes its own rows, and tests that need an empty or
    // differently migrated database create a scratch database of their own.
    fileParallelism: true,
  },
});
