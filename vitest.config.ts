import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Packages resolve to their TypeScript sources, so no build step is needed before testing.
const source = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));
const alias = [
  {
    find: /^@worker-toolbox\/(config|runtime|testing|conformance|dashboard|cli)$/,
    replacement: source("$1/src/index.ts"),
  },
  // The runtime's subpaths for operators (package.json "exports").
  {
    find: /^@worker-toolbox\/runtime\/(ops|results|protocol|topology|broker|inprocess)$/,
    replacement: source("runtime/src/api/$1.ts"),
  },
];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts", "test/unit/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["packages/*/src/**/*.int.test.ts", "test/**/*.int.test.ts"],
          exclude: ["**/node_modules/**", "test/tmp/**"],
          // One RabbitMQ node and one PostgreSQL cluster per run; files isolate by prefix/database.
          globalSetup: ["test/setup/globalSetup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: true,
          maxWorkers: 2,
          // Runs after the unit project; vitest requires distinct groups for different maxWorkers.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
