import { isToolboxError } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import {
  createResultStore,
  getFamily,
  getTask,
  type TaskOutcome,
  upsertTracking,
  waitForResult,
} from "../../packages/runtime/src/results/index.js";
import { testPool } from "../support/database.js";
import { resultsWorld } from "./world.js";

const schema = "results";
const world = resultsWorld("results", { schema, workerName: "export@host-1" });
let n = 0;
const id = (label: string) => `${label}-${++n}`;

async function row(taskId: string) {
  const { rows } = await world.pool.query(
    `SELECT id, status, result, result_json, meta, error, traceback, worker, retries, name,
            convert_from(args, 'UTF8') AS args, date_done, started_at,
            abs(extract(epoch FROM (date_done - (now() AT TIME ZONE 'UTC')))) AS utc_skew_s
       FROM results.celery_taskmeta WHERE task_id = $1`,
    [taskId],
  );
  return rows[0];
}

describe("result store", () => {
  it("stores a success: pickle + JSON, naive-UTC date_done, id from task_id_sequence", async () => {
    const taskId = id("ok");
    const task = { taskId, name: "export.project", args: [1, "a"], kwargs: { fmt: "xls" }, retries: 0 };
    expect(await world.store.markStarted(task)).toBe(true);
    expect(await world.store.markSuccess(task, { links: [{ url: "https://x" }], n: 3 })).toBe(true);
    const r = await row(taskId);
    expect(r).toMatchObject({
      status: "SUCCESS",
      result_json: { links: [{ url: "https://x" }], n: 3 },
      worker: "export@host-1",
      name: "export.project",
      args: '[1, "a"]', // Kombu JSON bytes, exactly as Celery's result_extended stores them
    });
    expect(Buffer.isBuffer(r.result) && r.result[0] === 0x80).toBe(true); // pickle PROTO opcode
    expect(Number(r.utc_skew_s)).toBeLessThan(60);
    expect(r.started_at).toBeInstanceOf(Date);
    const seq = await world.pool.query("SELECT last_value FROM results.task_id_sequence");
    expect(Number(r.id)).toBeLessThanOrEqual(Number(seq.rows[0].last_value));
    expect(await world.store.hasSucceeded(taskId)).toBe(true);
    expect(await world.store.hasSucceeded(id("never"))).toBe(false);
  });

  it("extended: false (database.resultExtended) stores the arguments once, in the tracking row", async () => {
    const once = createResultStore({
      pool: world.pool,
      schema,
      workerName: "export@host-1",
      extended: false,
    });
    const taskId = id("once");
    const task = {
      taskId,
      name: "export.project",
      args: [1, "a"],
      kwargs: { fmt: "xls" },
      retries: 0,
      queue: "q",
    };
    await upsertTracking(world.pool, schema, [task]);
    expect(await once.markSuccess(task, "done")).toBe(true);
    expect(await row(taskId)).toMatchObject({
      status: "SUCCESS",
      name: "export.project",
      args: null,
      retries: 0,
    });
    const { rows } = await world.pool.query("SELECT kwargs FROM results.celery_taskmeta WHERE task_id = $1", [
      taskId,
    ]);
    expect(rows[0].kwargs).toBeNull();
    // The readers find them where they are kept: the tracking row.
    const view = await getTask(world.pool, schema, taskId);
    expect(view.tracking).toMatchObject({ args: [1, "a"], kwargs: { fmt: "xls" } });
    expect(view.result?.value).toBe("done");
  });

  it("never lets a late STARTED/PROGRESS/RETRY overwrite a final state", async () => {
    const taskId = id("final");
    await world.store.markSuccess({ taskId }, 42);
    expect(await world.store.markStarted({ taskId })).toBe(false);
    expect(await world.store.markProgress({ taskId }, { done: 1 })).toBe(false);
    expect(await world.store.markRetry({ taskId }, { type: "IOError", message: "x" })).toBe(false);
    expect(await world.store.markFailure({ taskId }, { type: "ValueError", message: "dup" })).toBe(false);
    expect(await row(taskId)).toMatchObject({ status: "SUCCESS", result_json: 42, error: null });
  });

  it("keeps a newer attempt over a stale one and keeps the last progress meta", async () => {
    const taskId = id("retry");
    await world.store.markRetry(
      { taskId, retries: 0 },
      { type: "TimeoutError", message: "slow", stack: "at x" },
    );
    await world.store.markStarted({ taskId, retries: 1 });
    expect(await world.store.markStarted({ taskId, retries: 0 })).toBe(false); // late copy of attempt 0
    await world.store.markProgress({ taskId, retries: 1 }, { step: 2, of: 3 });
    expect(await row(taskId)).toMatchObject({ status: "PROGRESS", retries: 1, meta: { step: 2, of: 3 } });
    await world.store.markFailure(
      { taskId, retries: 1 },
      { type: "ValueError", message: "bad", module: "builtins", stack: "Error: bad\n  at y" },
    );
    expect(await row(taskId)).toMatchObject({
      status: "FAILURE",
      traceback: "Error: bad\n  at y",
      meta: { step: 2, of: 3 },
      error: { type: "ValueError", message: "bad", module: "builtins", stack: "Error: bad\n  at y" },
    });
  });

  it("writeMany stores a batch in one statement, one outcome per task, and reports what changed", async () => {
    const done = id("done");
    await world.store.markSuccess({ taskId: done }, "first");
    const ids = Array.from({ length: 200 }, () => id("batch"));
    const outcomes: TaskOutcome[] = [
      ...ids.map((taskId, i) => ({ taskId, state: "SUCCESS" as const, result: { i } })),
      { taskId: ids[0]!, state: "STARTED" }, // same batch, earlier state: ignored
      { taskId: done, state: "FAILURE", error: { type: "ValueError", message: "late" } },
    ];
    const summary = await world.store.writeMany(outcomes);
    expect(summary.written).toEqual(ids);
    expect(summary.unchanged).toEqual([done]);
    // Per outcome: the store says which ones its rows now hold (the dead-letter watch counts by it).
    expect(outcomes.map((o) => summary.stored(o))).toEqual([...ids.map(() => true), false, false]);
    const { rows } = await world.pool.query(
      "SELECT count(*)::int AS n FROM results.celery_taskmeta WHERE task_id = ANY($1) AND status = 'SUCCESS'",
      [ids],
    );
    expect(rows[0].n).toBe(200);
    expect((await row(ids[0]!)).result_json).toEqual({ i: 0 });
    expect((await row(done)).result_json).toBe("first");
  });

  it("refuses an unstorable value before touching the database", async () => {
    const ok = id("ok");
    const error = await world.store
      .writeMany([
        { taskId: ok, state: "SUCCESS", result: 1 },
        { taskId: id("bad"), state: "SUCCESS", result: { at: new Map() } },
      ])
      .catch((e: unknown) => e);
    expect(isToolboxError(error, "MESSAGE_NOT_SERIALIZABLE")).toBe(true);
    expect(await row(ok)).toBeUndefined();
  });

  it("stores REVOKED as Celery's TaskRevokedError", async () => {
    const taskId = id("revoked");
    await world.store.markRevoked({ taskId }, "expired");
    expect(await row(taskId)).toMatchObject({
      status: "REVOKED",
      error: { type: "TaskRevokedError", message: "expired", module: "celery.exceptions" },
    });
  });
});

describe("reading results", () => {
  it("getTask joins tracking and result; unknown ids are PENDING", async () => {
    const taskId = id("read");
    await upsertTracking(world.pool, schema, [
      { taskId, name: "export.project", args: [7], tracking: { requested_by: "u1" } },
    ]);
    expect(await getTask(world.pool, schema, taskId)).toMatchObject({
      status: "PENDING",
      name: "export.project",
      tracking: { args: [7], tracking: { requested_by: "u1" }, retries: 0 },
      result: null,
    });
    await world.store.markSuccess({ taskId }, { ok: true });
    const task = await getTask(world.pool, schema, taskId);
    expect(task).toMatchObject({ status: "SUCCESS", result: { value: { ok: true } } });
    // date_done is naive UTC in the table; the reader turns it into the right instant.
    expect(Math.abs(task.result!.dateDone!.getTime() - Date.now())).toBeLessThan(60_000);
    expect((await getTask(world.pool, schema, id("unknown"))).status).toBe("PENDING");
  });

  it("getFamily: any FAILURE -> FAILURE, else any unfinished -> STARTED, else SUCCESS", async () => {
    const root = id("root");
    const [a, b] = [id("child"), id("child")];
    await upsertTracking(world.pool, schema, [
      { taskId: root, name: "export.project" },
      { taskId: a, name: "export.xls", parentId: root, rootId: root },
      { taskId: b, name: "export.shp", parentId: root, rootId: root },
      { taskId: id("unlock"), name: "celery.chord_unlock", rootId: root },
    ]);
    await world.store.markSuccess({ taskId: root }, null);
    await world.store.markSuccess({ taskId: a, rootId: root }, 1);
    let family = await getFamily(world.pool, schema, root);
    expect(family.status).toBe("STARTED"); // b is still PENDING
    expect(family.tasks.map((t) => t.taskId).sort()).toEqual([root, a, b].sort());
    await world.store.markSuccess({ taskId: b, rootId: root }, 2);
    family = await getFamily(world.pool, schema, root);
    expect(family.status).toBe("SUCCESS");
    // A result whose tracking row has not arrived yet still counts.
    await world.store.markFailure({ taskId: id("late"), rootId: root }, { type: "ValueError", message: "x" });
    expect((await getFamily(world.pool, schema, root)).status).toBe("FAILURE");
    expect((await getFamily(world.pool, schema, id("nobody"))).status).toBe("PENDING");
  });

  it("waitForResult wakes on the NOTIFY of a later write", async () => {
    const taskId = id("wait");
    const started = Date.now();
    // recheckMs 0: only the notification can wake it, so this proves the NOTIFY path alone.
    const waiting = waitForResult(world.pool, schema, taskId, { timeoutMs: 20_000, recheckMs: 0 });
    await new Promise((r) => setTimeout(r, 300));
    await world.store.markStarted({ taskId }); // not final: keeps waiting
    await new Promise((r) => setTimeout(r, 200));
    await world.store.markSuccess({ taskId }, "done");
    const task = await waiting;
    expect(task).toMatchObject({ status: "SUCCESS", result: { value: "done" } });
    expect(Date.now() - started).toBeLessThan(5_000);
    // The shared listening connection goes back to the pool once nobody waits.
    await expect.poll(() => world.pool.totalCount - world.pool.idleCount).toBe(0);
  });

  it("waitForResult: many waiters share one connection, so they do not exhaust a small pool", async () => {
    const small = testPool({ connectionString: world.db.url, max: 2 });
    try {
      // Twenty waiters on tasks still running: one waiter per connection would need twenty.
      const running = Array.from({ length: 20 }, () => id("running"));
      const waiting = running.map((taskId) =>
        waitForResult(small, schema, taskId, { timeoutMs: 5_000 }).catch((e: unknown) => e),
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(small.totalCount).toBeLessThanOrEqual(2);
      const taskId = id("done-soon");
      const started = Date.now();
      const done = waitForResult(small, schema, taskId, { timeoutMs: 5_000 });
      await world.store.markSuccess({ taskId }, "quick");
      expect(await done).toMatchObject({ status: "SUCCESS" });
      expect(Date.now() - started).toBeLessThan(2_000);
      await Promise.all(
        running.map((runningId) => world.store.markSuccess({ taskId: runningId }, runningId)),
      );
      const outcomes = await Promise.all(waiting);
      expect(outcomes.map((outcome) => (outcome as { status?: string }).status)).toEqual(
        running.map(() => "SUCCESS"),
      );
      await expect.poll(() => small.totalCount - small.idleCount).toBe(0);
    } finally {
      await small.end();
    }
  });

  it("waitForResult hears a write made after its listening connection was killed", async () => {
    const taskId = id("relisten");
    // recheckMs 0: only a renewed LISTEN can hear the write.
    const waiting = waitForResult(world.pool, schema, taskId, { timeoutMs: 10_000, recheckMs: 0 });
    await new Promise((r) => setTimeout(r, 300));
    const { rows } = await world.pool.query<{ killed: boolean }>(
      "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    );
    expect(rows.map((row) => row.killed)).toContain(true);
    await new Promise((r) => setTimeout(r, 300));
    await world.store.markSuccess({ taskId }, "after the kill");
    expect(await waiting).toMatchObject({ status: "SUCCESS", result: { value: "after the kill" } });
  });

  it("waitForResult returns at once for a result stored before it started listening", async () => {
    const taskId = id("before");
    await world.store.markFailure({ taskId }, { type: "ValueError", message: "early" });
    expect(await waitForResult(world.pool, schema, taskId, { timeoutMs: 5_000 })).toMatchObject({
      status: "FAILURE",
    });
  });

  it("waitForResult rejects with RESULT_TIMEOUT", async () => {
    const taskId = id("slow");
    await world.store.markStarted({ taskId });
    const error = await waitForResult(world.pool, schema, taskId, { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(isToolboxError(error, "RESULT_TIMEOUT")).toBe(true);
    expect((error as Error).message).toMatch(/last status STARTED/);
  });

  it("reports DATABASE_NOT_MIGRATED when the tables are missing", async () => {
    const bare = createResultStore({ pool: world.pool, schema: "not_there", workerName: "w" });
    const error = await bare.markStarted({ taskId: "x" }).catch((e: unknown) => e);
    expect(isToolboxError(error, "DATABASE_NOT_MIGRATED")).toBe(true);
    expect((error as Error).message).toMatch(/worker-toolbox db migrate/);
  });
});
