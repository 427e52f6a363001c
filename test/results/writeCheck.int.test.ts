import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createResultStore, grantsSql, migrate } from "../../packages/runtime/src/results/index.js";
import { testClient, testPool } from "../support/database.js";
import { type FreshDatabase, freshDatabase } from "./freshDatabase.js";

/** ResultStore.checkWrites, run as the role that does the work, fails for each way a worker cannot store. */
const schema = "writecheck";
const password = "check-pass";
let fresh: FreshDatabase;
const pools: pg.Pool[] = [];

const role = (kind: string) => `wt_${kind}_${fresh.db.name}`;

function poolAs(name: string): pg.Pool {
  const url = new URL(fresh.db.url);
  url.username = name;
  url.password = password;
  const pool = testPool({ connectionString: url.toString(), max: 2 });
  pools.push(pool);
  return pool;
}

const check = (pool: pg.Pool, inSchema = schema) =>
  createResultStore({ pool, schema: inSchema, workerName: "check@host" }).checkWrites();

beforeAll(async () => {
  fresh = await freshDatabase("writecheck");
  await migrate(fresh.pool, { schema });
  await fresh.pool.query(
    grantsSql({
      schema,
      workerRole: role("worker"),
      trackerRole: role("tracker"),
      passwords: { worker: password, tracker: password },
    }),
  );
  // A hand-made role that may insert results but not update them (an upsert's second half).
  await fresh.pool.query(`CREATE ROLE "${role("insertonly")}" LOGIN PASSWORD '${password}';
    GRANT USAGE ON SCHEMA ${schema} TO "${role("insertonly")}";
    GRANT SELECT, INSERT ON ${schema}.celery_taskmeta TO "${role("insertonly")}";
    GRANT USAGE ON SEQUENCE ${schema}.task_id_sequence TO "${role("insertonly")}";`);
});

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  if (!fresh) return;
  for (const kind of ["worker", "tracker", "insertonly"]) {
    await fresh.pool.query(`DROP OWNED BY "${role(kind)}"`).catch(() => {});
  }
  await fresh.close();
  const admin = testClient({ connectionString: fresh.db.url.replace(/\/[^/]*$/, "/postgres") });
  await admin.connect();
  for (const kind of ["worker", "tracker", "insertonly"])
    await admin.query(`DROP ROLE IF EXISTS "${role(kind)}"`);
  await admin.end();
});

describe("ResultStore.checkWrites", () => {
  it("passes for the worker role db grants creates, and leaves no row and no history behind", async () => {
    await check(poolAs(role("worker")));
    const left = await fresh.pool.query(
      `SELECT (SELECT count(*) FROM ${schema}.celery_taskmeta) AS results,
              (SELECT count(*) FROM ${schema}.worker_toolbox_task_states) AS states`,
    );
    expect(left.rows[0]).toEqual({ results: "0", states: "0" });
  });

  it("a role without the worker's grants: DATABASE_PERMISSION_DENIED naming the role and `db grants`", async () => {
    const error = await check(poolAs(role("tracker"))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DATABASE_PERMISSION_DENIED" });
    expect((error as Error).message).toContain(`refuses it to the role ${role("tracker")}`);
    expect((error as Error).message).toContain(
      `fix: a worker's role gets its rights from \`worker-toolbox db grants --apply --worker-role ${role("tracker")}\``,
    );
  });

  it("a role that may insert but not update results fails too (the upsert's update half is probed)", async () => {
    await expect(check(poolAs(role("insertonly")))).rejects.toMatchObject({
      code: "DATABASE_PERMISSION_DENIED",
    });
  });

  it("a schema never migrated: DATABASE_NOT_MIGRATED with `db migrate`", async () => {
    const error = await check(fresh.pool, "nothing_here").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DATABASE_NOT_MIGRATED" });
    expect((error as Error).message).toContain("fix: Run `worker-toolbox db migrate` against this database.");
  });
});
