import type pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { createResultStore, grantsSql } from "../../packages/runtime/src/results/index.js";
import { resultsWorld } from "./world.js";

/** ResultStore.checkWrites, run as the role that does the work, fails for each way a worker cannot store. */
const schema = "writecheck";
const password = "check-pass";
const kinds = ["worker", "tracker", "insertonly"];
const world = resultsWorld("writecheck", { schema, roles: () => kinds.map(role) });

const role = (kind: string) => `wt_${kind}_${world.db.name}`;

const poolAs = (name: string): pg.Pool => world.newPool({ url: world.urlAs(name, password) });

const check = (pool: pg.Pool, inSchema = schema) =>
  createResultStore({ pool, schema: inSchema, workerName: "check@host" }).checkWrites();

beforeAll(async () => {
  await world.pool.query(
    grantsSql({
      schema,
      workerRole: role("worker"),
      trackerRole: role("tracker"),
      passwords: { worker: password, tracker: password },
    }),
  );
  // A hand-made role that may insert results but not update them (an upsert's second half).
  await world.pool.query(`CREATE ROLE "${role("insertonly")}" LOGIN PASSWORD '${password}';
    GRANT USAGE ON SCHEMA ${schema} TO "${role("insertonly")}";
    GRANT SELECT, INSERT ON ${schema}.celery_taskmeta TO "${role("insertonly")}";
    GRANT USAGE ON SEQUENCE ${schema}.task_id_sequence TO "${role("insertonly")}";`);
});

describe("ResultStore.checkWrites", () => {
  it("passes for the worker role db grants creates, and leaves no row and no history behind", async () => {
    await check(poolAs(role("worker")));
    const left = await world.pool.query(
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
    const error = await check(world.pool, "nothing_here").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DATABASE_NOT_MIGRATED" });
    expect((error as Error).message).toContain("fix: Run `worker-toolbox db migrate` against this database.");
  });
});
