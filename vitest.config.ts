import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds. Node, and so Pothos and Apollo, load the CommonJS one;
    // Vite would pick the ESM one for our sources, and graphql refuses types from "another module or realm".
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files share one migrated database; each test writes its own rows, and tests that need an empty or
    // differently migrated database create a scratch database of their own.
    fileParallelism: true,
    // Fixed, test-only key material (not secret), so that every worker — on the embedded target and on
    // TEST_DATABASE_URL alike — tokenizes and encrypts the same way and no run generates a secrets.json.
    env: {
      TOKENIZATION_KEY: "uZCmJ1hePdWp/yCqEZO0G5HOkjSs42Lmc5Hr7F3p0CY=",
      TOKENIZATION_PREVIOUS_KEYS: "",
      ENCRYPTION_KEYS: "test-1:JS4ICTRq98x7xCjROmyd4phIiwm7HgztXsmHa/FKVYs=",
      ENCRYPTION_KEY_ID: "test-1",
    },
  },
});
