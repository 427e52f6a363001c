import { startPostgres } from "@worker-toolbox/testing";
import { beforeAll, describe, expect, it } from "vitest";
import {
  createResultStore,
  grantsSql,
  pruneResults,
  upsertTracking,
} from "../../packages/runtime/src/results/index.js";
import { testClient } from "../support/database.js";
import { testServers } from "../support/servers.js";
import { resultsWorld } from "./world.js";

const schema = "grants";
const workerPassword = "w0rker pa'ss";
const trackerPassword = "tr4cker";
const dashboardPassword = "d4shboard-viewer";
/** Roles of someone else's: one named in keepTemporaryFor, one not. */
const bystanderPassword = "byst4nder";
let bystander: string;
let stranger: string;

/** A development server with `trust` auth would accept any password and prove nothing. */
async function passwordAuthServer(): Promise<{ url: string; stop?: () => Promise<void> }> {
  const url = testServers().databaseUrl;
  const client = testClient({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT bool_or(auth_method = 'trust') AS trust FROM pg_hba_file_rules WHERE type LIKE 'host%'",
    );
    if (!rows[0]?.trust) return { url };
  } finally {
    await client.end();
  }
  const own = await startPostgres();
  return { url: own.url, stop: () => own.dispose() };
}

async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
}

const roles = () => ["worker", "tracker", "dashboard"].map((kind) => `wt_${kind}_${world.db.name}`);
const world = resultsWorld("grants", {
  schema,
  server: passwordAuthServer,
  roles: () => [...roles(), bystander, stranger],
});

beforeAll(async () => {
  bystander = `wt_bystander_${world.db.name}`;
  stranger = `wt_stranger_${world.db.name}`;
  for (const role of [bystander, stranger])
    await world.pool.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${bystanderPassword}'`);
  const sql = grantsSql({
    schema,
    workerRole: `wt_worker_${world.db.name}`,
    trackerRole: `wt_tracker_${world.db.name}`,
    dashboardRole: `wt_dashboard_${world.db.name}`,
    passwords: { worker: workerPassword, tracker: trackerPassword, dashboard: dashboardPassword },
    keepTemporaryFor: [bystander],
  });
  await world.pool.query(sql);
  await world.pool.query(sql); // idempotent: a second run converges on the same rights
});

describe("grantsSql", () => {
  it("takes TEMPORARY from PUBLIC: a role named to keep it keeps it, any other loses it", async () => {
    const kept = world.newPool({ url: world.urlAs(bystander, bystanderPassword), max: 1 });
    const other = world.newPool({ url: world.urlAs(stranger, bystanderPassword), max: 1 });
    await kept.query("CREATE TEMP TABLE scratch (x int)");
    expect(await sqlState(other.query("CREATE TEMP TABLE scratch (x int)"))).toBe("42501");
  });

  it("never puts a plain-text password into the SQL", () => {
    const sql = grantsSql({ schema, workerRole: "w", trackerRole: "t", passwords: { worker: "hunter2" } });
    expect(sql).not.toContain("hunter2");
    expect(sql).toMatch(/PASSWORD 'SCRAM-SHA-256\$4096:/);
  });

  it("worker role (password auth) may write results and use the sequence, nothing else", async () => {
    const role = `wt_worker_${world.db.name}`;
    const wrong = world.newPool({ url: world.urlAs(role, "wrong"), max: 1 });
    expect(await sqlState(wrong.query("SELECT 1"))).toBe("28P01"); // password really is checked

    const pool = world.newPool({ url: world.urlAs(role, workerPassword), max: 2 });
    const store = createResultStore({ pool, schema, workerName: "w@h" });
    expect(await store.markStarted({ taskId: "g-1" })).toBe(true);
    expect(await store.markSuccess({ taskId: "g-1" }, { ok: 1 })).toBe(true);
    expect(await store.hasSucceeded("g-1")).toBe(true);
    await pool.query("SELECT nextval('grants.task_id_sequence')");

    expect(await sqlState(pool.query("SELECT * FROM grants.worker_toolbox_tasks"))).toBe("42501");
    // The state history is written by a trigger as its owner: the worker cannot read or write it itself.
    expect(await sqlState(pool.query("SELECT * FROM grants.worker_toolbox_task_states"))).toBe("42501");
    expect(await sqlState(pool.query("DELETE FROM grants.celery_taskmeta"))).toBe("42501");
    expect(await sqlState(pool.query("TRUNCATE grants.celery_taskmeta"))).toBe("42501");
    expect(await sqlState(pool.query("SELECT * FROM grants.celery_tasksetmeta"))).toBe("42501");
    expect(await sqlState(pool.query("CREATE TABLE grants.evil (x int)"))).toBe("42501");
    expect(await sqlState(pool.query("ALTER TABLE grants.celery_taskmeta ADD COLUMN x int"))).toBe("42501");
    expect(await sqlState(pool.query("DROP TABLE grants.celery_taskmeta"))).toBe("42501");
    expect(await sqlState(pool.query("CREATE TABLE public.evil (x int)"))).toBe("42501");
    expect(await sqlState(pool.query("CREATE TEMP TABLE evil (x int)"))).toBe("42501");
    expect(await pruneResults(pool, schema, { olderThanMs: 0 }).catch((e: unknown) => e)).toMatchObject({
      code: "DATABASE_PERMISSION_DENIED",
      cause: { code: "42501" },
    });
  });

  it("tracker role may upsert tracking rows but cannot touch results", async () => {
    const pool = world.newPool({ url: world.urlAs(`wt_tracker_${world.db.name}`, trackerPassword), max: 2 });
    expect(await upsertTracking(pool, schema, [{ taskId: "g-1", name: "svc.task" }])).toMatchObject({
      inserted: 1,
    });
    expect(await sqlState(pool.query("SELECT * FROM grants.celery_taskmeta"))).toBe("42501");
    expect(await sqlState(pool.query("DELETE FROM grants.worker_toolbox_tasks"))).toBe("42501");
    expect(await sqlState(pool.query("SELECT nextval('grants.task_id_sequence')"))).toBe("42501");
    expect(await sqlState(pool.query("CREATE TEMP TABLE evil (x int)"))).toBe("42501");
  });

  it("dashboard role reads results, tracking and history, records revocations, and changes nothing else", async () => {
    const pool = world.newPool({
      url: world.urlAs(`wt_dashboard_${world.db.name}`, dashboardPassword),
      max: 2,
    });
    // The worker role's writes above left their history, through the trigger.
    const history = await pool.query(
      "SELECT status FROM grants.worker_toolbox_task_states WHERE task_id = 'g-1' ORDER BY id",
    );
    // The state it left (the current one is the row itself).
    expect(history.rows.map((row) => row.status)).toEqual(["STARTED"]);
    await pool.query("SELECT * FROM grants.worker_toolbox_tasks");
    const store = createResultStore({ pool, schema, workerName: "dashboard@h" });
    await store.writeMany([{ taskId: "g-revoked", state: "REVOKED", reason: "from the dashboard" }]);
    expect(await sqlState(pool.query("DELETE FROM grants.celery_taskmeta"))).toBe("42501");
    expect(await sqlState(pool.query("UPDATE grants.worker_toolbox_tasks SET retries = 9"))).toBe("42501");
    expect(await sqlState(pool.query("DELETE FROM grants.worker_toolbox_task_states"))).toBe("42501");
    expect(
      await sqlState(
        pool.query(
          "INSERT INTO grants.worker_toolbox_task_states (task_id, status, at) VALUES ('x', 'SUCCESS', now())",
        ),
      ),
    ).toBe("42501");
    expect(await sqlState(pool.query("CREATE TEMP TABLE evil (x int)"))).toBe("42501");
    expect(await pruneResults(pool, schema, { olderThanMs: 0 }).catch((e: unknown) => e)).toMatchObject({
      code: "DATABASE_PERMISSION_DENIED",
      cause: { code: "42501" },
    });
  });
});
