import { randomUUID } from "node:crypto";
import { loadConfig } from "@worker-toolbox/config";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createResultStore, getTask, waitForResult } from "../../packages/runtime/src/results/index.js";
import { testPool } from "../support/database.js";
import { type PgBouncer, startPgBouncer } from "../support/pgbouncer.js";
import { resultsWorld } from "./world.js";

/**
 * The result store behind PgBouncer 1.18 (Debian 12's) in transaction pooling mode, with one server
 * connection: two clients of the pool take turns on it, so session state such as a named prepared
 * statement is shared between them, which is what a transaction pooler does to its clients.
 */
const schema = "bouncer";
const world = resultsWorld("pgbouncer", { schema });
let bouncer: PgBouncer;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  bouncer = await startPgBouncer(world.db.url);
}, 60_000);

// Runs before the world's teardown: the pools end and PgBouncer stops before the database is dropped.
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await bouncer?.stop();
});

/** A fresh pool through PgBouncer whose first `n` writes each open a client of their own. */
function poolThroughBouncer(): pg.Pool {
  const pool = testPool({ connectionString: bouncer.url, max: 4 });
  pools.push(pool);
  return pool;
}

describe("results behind a transaction-pooling PgBouncer", () => {
  it("with named prepared statements (the default) writes fail, as docs/results.md warns", async () => {
    const store = createResultStore({ pool: poolThroughBouncer(), schema, workerName: "w@bouncer" });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () => store.markSuccess({ taskId: randomUUID(), name: "svc.t" }, 1)),
    );
    const reasons = outcomes.flatMap((outcome) =>
      outcome.status === "rejected" ? [(outcome.reason as Error).message] : [],
    );
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.join("\n")).toMatch(
      /prepared statement "wt_upsert_[0-9a-f]+" (already exists|does not exist)/,
    );
  });

  it("with database.preparedStatements false every write goes through, and reads back", async () => {
    // Set the way an operator would, from the environment.
    const config = loadConfig({
      env: {
        WT_MODE: "test",
        WT_ENVIRONMENT_PREFIX: "t",
        DATABASE_URL: bouncer.url,
        WT_DATABASE_PREPARED_STATEMENTS: "false",
      },
      file: false,
    });
    expect(config.database.preparedStatements).toBe(false);
    const pool = poolThroughBouncer();
    const store = createResultStore({
      pool,
      schema,
      workerName: "w@bouncer",
      preparedStatements: config.database.preparedStatements,
    });
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const stored = await Promise.all(ids.map((taskId, i) => store.markSuccess({ taskId, name: "svc.t" }, i)));
    expect(stored.every(Boolean)).toBe(true);
    const rows = await Promise.all(ids.map((id) => getTask(world.pool, schema, id)));
    expect(rows.map((row) => [row?.status, row?.result?.value])).toEqual(ids.map((_, i) => ["SUCCESS", i]));
  });
});

describe("waiting for a result behind a transaction-pooling PgBouncer", () => {
  it("LISTEN hears nothing there: waitForResult still resolves, from its periodic re-read", async () => {
    const pool = poolThroughBouncer();
    const store = createResultStore({ pool, schema, workerName: "w", preparedStatements: false });
    const taskId = randomUUID();
    const started = Date.now();
    const waiting = waitForResult(pool, schema, taskId, { timeoutMs: 10_000, recheckMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await store.markSuccess({ taskId, name: "svc.t" }, 1);
    const view = await waiting;
    expect(view.status).toBe("SUCCESS");
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it("without the re-read the stored result goes unheard until the deadline (why the re-read exists)", async () => {
    const pool = poolThroughBouncer();
    const store = createResultStore({ pool, schema, workerName: "w", preparedStatements: false });
    const taskId = randomUUID();
    const waiting = waitForResult(pool, schema, taskId, { timeoutMs: 3_000, recheckMs: 0 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await store.markSuccess({ taskId, name: "svc.t" }, 1);
    await expect(waiting).rejects.toMatchObject({ code: "RESULT_TIMEOUT" });
    expect((await getTask(world.pool, schema, taskId)).status).toBe("SUCCESS");
  });
});
