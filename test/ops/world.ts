import { migrate } from "@worker-toolbox/runtime/results";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type TestDatabase,
} from "@worker-toolbox/testing";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { afterAll, beforeAll, expect } from "vitest";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";
import { cli, openChannel } from "./support.js";

/**
 * The world an ops test file runs in: its own namespace (environment prefix) on the test broker, optionally a
 * fresh database of its own (migrated when asked), a confirm channel to look around with, and `env`, the
 * environment a CLI command needs to reach all of it. `opsWorld()` registers the beforeAll that builds it and
 * the afterAll that removes it; a file's own afterAll runs first (vitest runs after-hooks in reverse order),
 * so it can still close what it started against the world.
 */
export interface OpsWorldOptions {
  /** A fresh database for the file (`DATABASE_URL`); `migrated`: with the result backend's tables. */
  database?: "fresh" | "migrated";
  /** Open a connection and confirm channel to the broker (default true). */
  channel?: boolean;
  /** Services whose topology `topology apply` declares before the tests. */
  apply?: readonly string[];
  /** More variables for `env`. */
  env?: Record<string, string>;
}

export interface OpsWorld {
  readonly prefix: string;
  /** AMQP_URL, RABBITMQ_MANAGEMENT_URL, DATABASE_URL (with a database), the prefix, a 1 s delay rung. */
  readonly env: Record<string, string | undefined>;
  readonly db: TestDatabase;
  readonly connection: ChannelModel;
  readonly channel: ConfirmChannel;
}

export function opsWorld(name: string, options: OpsWorldOptions = {}): OpsWorld {
  const { amqpUrl, databaseUrl, managementUrl } = testServers();
  const prefix = createTestNamespace(name);
  const env: Record<string, string | undefined> = {
    AMQP_URL: amqpUrl,
    RABBITMQ_MANAGEMENT_URL: managementUrl,
    WT_ENVIRONMENT_PREFIX: prefix,
    WT_QUEUE_DELAY_RUNGS_MS: "1000",
    ...options.env,
  };
  let db: TestDatabase | undefined;
  let broker: { connection: ChannelModel; channel: ConfirmChannel } | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`opsWorld("${name}") has no ${what}: ask for it in its options`);
    return value;
  };

  beforeAll(async () => {
    if (options.database) {
      db = await createTestDatabase(databaseUrl, name);
      env.DATABASE_URL = db.url;
      if (options.database === "migrated") await migrateDatabase(db.url);
    }
    if (options.channel !== false) broker = await openChannel(amqpUrl);
    if (options.apply?.length) {
      const services = options.apply.flatMap((service) => ["--service", service]);
      expect((await cli(["topology", "apply", ...services], env)).code).toBe(0);
    }
  });

  afterAll(async () => {
    await broker?.connection.close().catch(() => {});
    await deleteNamespace(managementUrl!, prefix);
    await db?.drop();
  });

  return {
    prefix,
    env,
    get db() {
      return need(db, "database");
    },
    get connection() {
      return need(broker, "broker channel").connection;
    },
    get channel() {
      return need(broker, "broker channel").channel;
    },
  };
}

async function migrateDatabase(url: string): Promise<void> {
  const pool = testPool({ connectionString: url, max: 1 });
  try {
    await migrate(pool, { schema: "public" });
  } finally {
    await pool.end();
  }
}
