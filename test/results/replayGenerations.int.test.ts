import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createResultStore,
  getTask,
  migrate,
  nextGenerations,
  type ResultStore,
  recordReplays,
  replayOutcomes,
  replaysSince,
  waitForReplays,
} from "../../packages/runtime/src/results/index.js";
import { type FreshDatabase, freshDatabase } from "./freshDatabase.js";

/**
 * Replay generations in the result table: a replay's outcome replaces the earlier final state, the earlier
 * outcome stays in the task's history, and a late duplicate of the earlier run never overwrites.
 */
const schema = "generations";
let fresh: FreshDatabase;
let store: ResultStore;
let n = 0;
const id = (label: string) => `${label}-${++n}`;
const failed = { type: "HTTPError", message: "payments API: 503" };

beforeAll(async () => {
  fresh = await freshDatabase("generations");
  await migrate(fresh.pool, { schema });
  store = createResultStore({ pool: fresh.pool, schema, workerName: "orders@host-1" });
});
afterAll(async () => {
  await fresh?.close();
});

const view = async (taskId: string) => (await getTask(fresh.pool, schema, taskId)).result!;
/** The states a task left, oldest first (kept by the history triggers). */
const history = async (taskId: string) =>
  (
    await fresh.pool.query<{ status: string; generation: number; error: { message?: string } | null }>(
      `SELECT status, generation, error, retries, worker FROM ${schema}.worker_toolbox_task_states
        WHERE task_id = $1 ORDER BY id`,
      [taskId],
    )
  ).rows;

describe("replay generations", () => {
  it("a recorded replay's SUCCESS replaces the FAILURE, which stays in history; old duplicates never overwrite", async () => {
    const taskId = id("exhausted");
    const ref = { taskId, name: "orders.export", retries: 4 };
    expect(await store.markFailure(ref, failed)).toBe(true);
    // Within one generation a final row never changes.
    expect(await store.markSuccess({ taskId }, "too late")).toBe(false);

    const generations = await nextGenerations(fresh.pool, schema, [taskId, "never-stored"]);
    expect(Object.fromEntries(generations)).toEqual({ [taskId]: 1, "never-stored": 1 });
    expect(await recordReplays(fresh.pool, schema, [{ taskId, generation: 1 }])).toBe(1);
    const replayed = await view(taskId);
    expect(replayed).toMatchObject({ status: "PENDING", generation: 1, retries: 0, error: null });
    expect(replayed.replayedAt).toBeInstanceOf(Date);
    expect(await history(taskId)).toEqual([
      expect.objectContaining({
        generation: 0,
        status: "FAILURE",
        error: expect.objectContaining({ type: "HTTPError", message: "payments API: 503" }),
        worker: "orders@host-1",
        retries: 4,
      }),
    ]);
    // Recording the same replay twice changes nothing.
    expect(await recordReplays(fresh.pool, schema, [{ taskId, generation: 1 }])).toBe(0);

    // A late duplicate of the first run (generation 0) does not touch the replay's row.
    expect(await store.markFailure({ taskId, retries: 4 }, failed)).toBe(false);
    // The replay retries once (its retry count starts again from 0), then succeeds.
    expect(await store.markRetry({ taskId, generation: 1, retries: 1 }, failed)).toBe(true);
    expect(await store.markSuccess({ taskId, generation: 1, retries: 1 }, { rows: 12 })).toBe(true);
    expect(await store.markFailure({ taskId, generation: 0, retries: 4 }, failed)).toBe(false);
    expect(await store.markFailure({ taskId, generation: 1, retries: 1 }, failed)).toBe(false);
    const done = await view(taskId);
    expect(done).toMatchObject({ status: "SUCCESS", value: { rows: 12 }, generation: 1 });
    expect((await history(taskId)).map((state) => [state.generation, state.status])).toEqual([
      [0, "FAILURE"],
      [1, "PENDING"],
      [1, "RETRY"],
    ]);
  });

  it("a replay's write replaces a final row by itself when the replay was not recorded first", async () => {
    const taskId = id("unrecorded");
    await store.markSuccess({ taskId, retries: 0 }, "first");
    expect(await store.markSuccess({ taskId, generation: 2 }, "second")).toBe(true);
    const row = await view(taskId);
    expect(row).toMatchObject({ status: "SUCCESS", value: "second", generation: 2 });
    expect(row.replayedAt).toBeInstanceOf(Date);
    // SUCCESS replaced by SUCCESS: still a state the task left.
    expect((await history(taskId)).map((state) => [state.generation, state.status])).toEqual([
      [0, "SUCCESS"],
    ]);
    // A batch holding both generations keeps the newer one.
    const other = id("batch");
    const summary = await store.writeMany([
      { taskId: other, generation: 1, state: "SUCCESS", result: "replayed" },
      { taskId: other, generation: 0, state: "FAILURE", error: failed },
    ]);
    expect(summary.written).toEqual([other]);
    expect(await view(other)).toMatchObject({
      status: "SUCCESS",
      value: "replayed",
      generation: 1,
    });
  });

  it("reports what became of replays: succeeded, failed again, still running", async () => {
    const ok = id("ok");
    const again = id("again");
    const running = id("running");
    const absent = id("absent");
    for (const taskId of [ok, again, running]) await store.markFailure({ taskId }, failed);
    const replays = [ok, again, running, absent].map((taskId) => ({ taskId, generation: 1 }));
    await recordReplays(fresh.pool, schema, replays);
    await store.markSuccess({ taskId: ok, generation: 1 }, 1);
    await store.markFailure({ taskId: again, generation: 1 }, failed);
    expect(await replayOutcomes(fresh.pool, schema, replays)).toEqual({
      succeeded: [ok],
      failedAgain: [again],
      running: [running, absent],
    });
    const waiting = waitForReplays(fresh.pool, schema, replays, { timeoutMs: 10_000, intervalMs: 50 });
    await store.markSuccess({ taskId: running, generation: 1 }, 1);
    await store.markSuccess({ taskId: absent, generation: 1 }, 1);
    expect(await waiting).toEqual({ succeeded: [ok, running, absent], failedAgain: [again], running: [] });
    const timedOut = await waitForReplays(fresh.pool, schema, [{ taskId: id("never"), generation: 1 }], {
      timeoutMs: 200,
      intervalMs: 50,
    });
    expect(timedOut.running).toHaveLength(1);
  });

  it("sums up the replays of a window for the dashboard: counts, and the ones not succeeded newest first", async () => {
    const since = new Date();
    const [ok, again, running] = [id("w-ok"), id("w-again"), id("w-running")];
    for (const taskId of [ok, again, running]) await store.markFailure({ taskId }, failed);
    await recordReplays(
      fresh.pool,
      schema,
      [ok, again, running].map((taskId) => ({ taskId, generation: 1 })),
    );
    await store.markSuccess({ taskId: ok, generation: 1 }, 1);
    await store.markFailure({ taskId: again, generation: 1 }, failed);
    const recent = await replaysSince(fresh.pool, schema, { since });
    expect(recent).toMatchObject({ succeeded: 1, failedAgain: 1, running: 1 });
    expect(
      recent.unfinished.map((replay) => [replay.taskId, replay.status, replay.generation]).sort(),
    ).toEqual(
      [
        [again, "FAILURE", 1],
        [running, "PENDING", 1],
      ].sort(),
    );
    expect(await replaysSince(fresh.pool, schema, { since: new Date(Date.now() + 60_000) })).toEqual({
      succeeded: 0,
      failedAgain: 0,
      running: 0,
      unfinished: [],
    });
  });
});
