import { isToolboxError } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { assertMigrated, migrate, migrationStatus } from "../../packages/runtime/src/results/index.js";
import { MIGRATIONS } from "../../packages/runtime/src/results/migrations.js";
import { createResultStore } from "../../packages/runtime/src/results/resultStore.js";
import { testPool } from "../support/database.js";
import { resultsWorld } from "./world.js";

const world = resultsWorld("migrate");

async function tablesIn(schema: string): Promise<string[]> {
  const { rows } = await world.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'S') ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.name);
}

describe("migrate", () => {
  it("creates nothing until asked, and reports version 0", async () => {
    const status = await migrationStatus(world.pool, { schema: "untouched" });
    expect(status).toMatchObject({ current: 0, latest: MIGRATIONS.length, upToDate: false });
    expect(await tablesIn("untouched")).toEqual([]);
    const error = await assertMigrated(world.pool, "untouched").catch((e: unknown) => e);
    expect(isToolboxError(error, "DATABASE_NOT_MIGRATED")).toBe(true);
    expect(String(error)).toMatch(/worker-toolbox db migrate/);
  });

  it("applies every migration once; a second run is a no-op", async () => {
    const first = await migrate(world.pool, { schema: "once" });
    expect(first.applied.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const second = await migrate(world.pool, { schema: "once" });
    expect(second).toEqual({ schema: "once", applied: [], current: first.latest, latest: first.latest });
    expect(await tablesIn("once")).toEqual([
      "celery_taskmeta",
      "celery_tasksetmeta",
      "task_id_sequence",
      "taskset_id_sequence",
      "worker_toolbox_failure_counts",
      "worker_toolbox_migrations",
      "worker_toolbox_task_states",
      "worker_toolbox_task_states_id_seq",
      "worker_toolbox_tasks",
    ]);
    const status = await assertMigrated(world.pool, "once");
    expect(status).toMatchObject({ upToDate: true, pending: [], unknown: [], modified: [] });
  });

  it("matches Celery's column types and leaves celery_taskmeta.id without a server default", async () => {
    await migrate(world.pool, { schema: "shape" });
    const { rows } = await world.pool.query<{ column_name: string; data_type: string; column_default: null }>(
      `SELECT column_name, data_type, column_default FROM information_schema.columns
        WHERE table_schema = 'shape' AND table_name = 'celery_taskmeta' ORDER BY ordinal_position`,
    );
    expect(rows.slice(0, 12).map((r) => [r.column_name, r.data_type])).toEqual([
      ["id", "integer"],
      ["task_id", "character varying"],
      ["status", "character varying"],
      ["result", "bytea"],
      ["date_done", "timestamp without time zone"],
      ["traceback", "text"],
      ["name", "character varying"],
      ["args", "bytea"],
      ["kwargs", "bytea"],
      ["worker", "character varying"],
      ["retries", "integer"],
      ["queue", "character varying"],
    ]);
    expect(rows.find((r) => r.column_name === "id")?.column_default).toBeNull();
  });

  it("two migrators racing on a fresh schema both succeed and apply each migration once", async () => {
    const pools = [0, 1].map(() => testPool({ connectionString: world.db.url, max: 1 }));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pool, { schema: "race" })));
      const applied = results.flatMap((r) => r.applied.map((m) => m.version)).sort();
      expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
      const ledger = await world.pool.query("SELECT version FROM race.worker_toolbox_migrations");
      expect(ledger.rowCount).toBe(MIGRATIONS.length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it("applies a later migration on top and flags an edited one", async () => {
    const base = [...MIGRATIONS];
    await migrate(world.pool, { schema: "grow", migrations: base });
    const next = { version: base.length + 1, name: "add probe", sql: "CREATE TABLE probe (x int);" };
    const grown = await migrate(world.pool, { schema: "grow", migrations: [...base, next] });
    expect(grown.applied).toEqual([{ version: next.version, name: "add probe" }]);
    expect(await tablesIn("grow")).toContain("probe");
    const edited = base.map((m) => (m.version === 1 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    const status = await migrationStatus(world.pool, { schema: "grow", migrations: edited });
    expect(status.modified).toEqual([1]);
    expect(status.unknown).toEqual([next.version]);
  });

  it("upgrades a database of the previous release (version 2): its rows become generation 0 and a replay replaces them", async () => {
    const previous = MIGRATIONS.filter((m) => m.version <= 2);
    await migrate(world.pool, { schema: "upgrade", migrations: previous });
    const old = createResultStore({ pool: world.pool, schema: "upgrade", workerName: "old@host" });
    // Written with the previous schema's columns only (what a worker of the previous release writes).
    await world.pool.query(
      `INSERT INTO upgrade.celery_taskmeta (id, task_id, status, date_done, name, updated_at)
       VALUES (nextval('upgrade.task_id_sequence'), 'old-task', 'STARTED', now(), 'svc.old', now())`,
    );
    await world.pool.query(
      "UPDATE upgrade.celery_taskmeta SET status = 'FAILURE' WHERE task_id = 'old-task'",
    );
    const upgraded = await migrate(world.pool, { schema: "upgrade" });
    expect(upgraded.applied.map((m) => m.version)).toEqual(
      MIGRATIONS.filter((m) => m.version > 2).map((m) => m.version),
    );
    const row = await world.pool.query(
      "SELECT status, generation, replayed_at FROM upgrade.celery_taskmeta WHERE task_id = 'old-task'",
    );
    expect(row.rows).toEqual([{ status: "FAILURE", generation: 0, replayed_at: null }]);
    await old.writeMany([{ taskId: "old-task", state: "SUCCESS", result: 1, generation: 1 }]);
    const states = await world.pool.query(
      "SELECT status, generation FROM upgrade.worker_toolbox_task_states WHERE task_id = 'old-task' ORDER BY id",
    );
    expect(states.rows).toEqual([
      { status: "STARTED", generation: 0 },
      { status: "FAILURE", generation: 0 },
    ]);
    const replaced = await world.pool.query(
      "SELECT status, generation FROM upgrade.celery_taskmeta WHERE task_id = 'old-task'",
    );
    expect(replaced.rows).toEqual([{ status: "SUCCESS", generation: 1 }]);
    expect((await assertMigrated(world.pool, "upgrade")).upToDate).toBe(true);
  });

  it("rolls back a failing migration completely, leaving no ledger row", async () => {
    const bad = { version: 1, name: "broken", sql: "CREATE TABLE half (x int); SELECT no_such_function();" };
    await expect(migrate(world.pool, { schema: "broken", migrations: [bad] })).rejects.toMatchObject({
      code: "42883",
    });
    expect(await tablesIn("broken")).toEqual([]);
  });

  it("reports DATABASE_UNAVAILABLE naming host:port and database, never the password", async () => {
    const pool = testPool({
      connectionString: "postgres://someone:s3cret-pw@127.0.0.1:1/results_db",
      connectionTimeoutMillis: 2000,
    });
    try {
      const error = await migrate(pool, { schema: "x" }).catch((e: unknown) => e);
      expect(isToolboxError(error, "DATABASE_UNAVAILABLE")).toBe(true);
      expect((error as Error).message).toContain("127.0.0.1:1/results_db");
      expect((error as Error).message).not.toContain("s3cret-pw");
    } finally {
      await pool.end();
    }
  });
});
