import {
  type DeepPartial,
  parseConfig,
  type ToolboxConfig,
  type ToolboxConfigInput,
} from "@worker-toolbox/config";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type TestDatabase,
} from "@worker-toolbox/testing";
import type pg from "pg";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { testPool } from "../support/database.js";
import { type PythonCelery, pythonCelery } from "../support/pythonCelery.js";
import { testServers } from "../support/servers.js";

/**
 * One interop test file's world: a namespace, a migrated database, a pool to read results, the Celery
 * settings `celery-config` prints for `services` (so Python can start workers or run snippets), and a
 * config for TypeScript workers and producers of the same environment.
 */
export interface InteropWorld {
  prefix: string;
  database: TestDatabase;
  pool: pg.Pool;
  python: PythonCelery;
  config(overrides?: DeepPartial<ToolboxConfigInput>): ToolboxConfig;
  close(): Promise<void>;
}

export async function interopWorld(label: string, services: string[]): Promise<InteropWorld> {
  const servers = testServers();
  const prefix = createTestNamespace(label);
  const database = await createTestDatabase(servers.databaseUrl, label);
  const pool = testPool({ connectionString: database.url, max: 3 });
  await migrate(pool, { schema: "public" });
  const python = await pythonCelery({
    prefix,
    services,
    amqpUrl: servers.amqpUrl,
    databaseUrl: database.url,
  });
  return {
    prefix,
    database,
    pool,
    python,
    config: (overrides = {}) =>
      parseConfig({
        mode: "test",
        logLevel: "silent",
        ...overrides,
        environment: { prefix },
        broker: { url: servers.amqpUrl, ...overrides.broker },
        database: { url: database.url, poolSize: 3, ...overrides.database },
      }),
    async close() {
      await python.close();
      await pool.end();
      if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix).catch(() => undefined);
      await database.drop();
    },
  };
}
