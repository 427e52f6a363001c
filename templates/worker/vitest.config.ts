import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The conformance suite starts a real worker against RabbitMQ and PostgreSQL.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
