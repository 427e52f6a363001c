import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type ToolboxConfig } from "@worker-toolbox/config";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type TestDatabase,
} from "@worker-toolbox/testing";
import type pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, expect } from "vitest";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { createTracker, type TrackerStats } from "../../packages/runtime/src/tracker/index.js";
import {
  createWorker,
  type TaskImplementation,
  type Worker,
} from "../../packages/runtime/src/worker/index.js";
import { celeryConfigOutput } from "./celeryPython.js";
import { testPool } from "./database.js";
import { testServers } from "./servers.js";

/** A TypeScript worker a Python Celery client talks to, and where that client's settings module lives. */
export interface PythonClientWorld {
  readonly prefix: string;
  readonly config: ToolboxConfig;
  /** Holds `wt_celery_settings.py` (what `worker-toolbox celery-config` prints for this world). */
  readonly dir: string;
  readonly pool: pg.Pool;
  readonly worker: Worker;
  /** Run a tracker over the platform queue until it stored `count` copies; its stats after closing. */
  track(count: number): Promise<TrackerStats>;
}

/**
 * Before the file's tests: a fresh migrated database, a random prefix, a started worker running `tasks`
 * for `service`, and the Celery settings module for a Python client. After them: all of it removed.
 */
export function pythonClientWorld(
  label: string,
  service: string,
  tasks: () => readonly TaskImplementation[],
): PythonClientWorld {
  const servers = testServers();
  const prefix = createTestNamespace(label.replaceAll("_", ""));
  const dir = mkdtempSync(join(tmpdir(), `wt-${label}-`));
  let database: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  let config: ToolboxConfig | undefined;
  let worker: Worker | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(servers.databaseUrl, label);
    pool = testPool({ connectionString: database.url, max: 2 });
    await migrate(pool, { schema: "public" });
    config = parseConfig({
      mode: "test",
      service,
      environment: { prefix },
      broker: { url: servers.amqpUrl },
      database: { url: database.url, poolSize: 2 },
      logLevel: "silent",
    });
    worker = createWorker({ config, tasks: tasks(), logger: pino({ level: "silent" }) });
    await worker.start();
    const settings = await celeryConfigOutput({
      prefix,
      service,
      amqpUrl: servers.amqpUrl,
      databaseUrl: database.url,
    });
    writeFileSync(join(dir, "wt_celery_settings.py"), settings);
  });
  afterAll(async () => {
    await worker?.close({ graceMs: 1_000 });
    await pool?.end();
    if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix).catch(() => undefined);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    prefix,
    dir,
    get config() {
      return config!;
    },
    get pool() {
      return pool!;
    },
    get worker() {
      return worker!;
    },
    async track(count) {
      const tracker = createTracker({ config: config!, pool: pool!, logger: pino({ level: "silent" }) });
      await tracker.start();
      try {
        await expect.poll(() => tracker.stats.stored, { timeout: 20_000 }).toBe(count);
      } finally {
        await tracker.close();
      }
      return tracker.stats;
    },
  };
}
