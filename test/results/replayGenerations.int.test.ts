import { describe, expect, it } from "vitest";
import {
  getTask,
  nextGenerations,
  recordReplays,
  replayOutcomes,
  replaysSince,
  waitForReplays,
} from "../../packages/runtime/src/results/index.js";
import { resultsWorld } from "./world.js";

/**
 * Replay generations in the result table: a replay's outcome replaces the earlier final state, the earlier
 * outcome stays in the task's history, and a late duplicate of the earlier run never overwrites.
 */
const schema = "generations";
const world = resultsWorld("generations", { schema, workerName: "orders@host-1" });
let n = 0;
const id = (label: string) => `${label}-${++n}`;
const failed = { type: "HTTPError", message: "payments API: 503" };

const view = async (taskId: string) => (await getTask(world.pool, schema, taskId)).result!;
/** The states a task left, oldest first (kept by the history triggers). */
const history = async (taskId: string) =>
  (
    await world.pool.query<{ status: string; generation: number; error: { message?: string } | null }>(
      `SELECT status, generation, error, retries, worker FROM ${schema}.worker_toolbox_task_states
        WHERE task_id = $1 ORDER BY id`,
      [taskId],
    )
  ).rows;

describe("replay generations", () => {
  it("a recorded replay's SUCCESS replaces the FAILURE, which stays in history; old duplicates never overwrite", async () => {
    const taskId = id("exhausted");
    const ref = { taskId, name: "orders.export", retries: 4 };
    expect(await world.store.markFailure(ref, failed)).toBe(true);
    // Within one generation a final row never changes.
    expect(await world.store.markSuccess({ taskId }, "too late")).toBe(false);

    const generations = await nextGenerations(world.pool, schema, [taskId, "never-stored"]);
    expect(Object.fromEntries(generations)).toEqual({ [taskId]: 1, "never-stored": 1 });
    expect(await recordReplays(world.pool, schema, [{ taskId, generation: 1 }])).toBe(1);
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
    expect(await recordReplays(world.pool, schema, [{ taskId, generation: 1 }])).toBe(0);

    // A late duplicate of the first run (generation 0) does not touch the replay's row.
    expect(await world.store.markFailure({ taskId, retries: 4 }, failed)).toBe(false);
    // The replay retries once (its retry count starts again from 0), then succeeds.
    expect(await world.store.markRetry({ taskId, generation: 1, retries: 1 }, failed)).toBe(true);
    expect(await world.store.markSuccess({ taskId, generation: 1, retries: 1 }, { rows: 12 })).toBe(true);
    expect(await world.store.markFailure({ taskId, generation: 0, retries: 4 }, failed)).toBe(false);
    expect(await world.store.markFailure({ taskId, generation: 1, retries: 1 }, failed)).toBe(false);
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
    await world.store.markSuccess({ taskId, retries: 0 }, "first");
    expect(await world.store.markSuccess({ taskId, generation: 2 }, "second")).toBe(true);
    const row = await view(taskId);
    expect(row).toMatchObject({ status: "SUCCESS", value: "second", generation: 2 });
    expect(row.replayedAt).toBeInstanceOf(Date);
    // SUCCESS replaced by SUCCESS: still a state the task left.
    expect((await history(taskId)).map((state) => [state.generation, state.status])).toEqual([
      [0, "SUCCESS"],
    ]);
    // A batch holding both generations keeps the newer one.
    const other = id("batch");
    const summary = await world.store.writeMany([
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
    for (const taskId of [ok, again, running]) await world.store.markFailure({ taskId }, failed);
    const replays = [ok, again, running, absent].map((taskId) => ({ taskId, generation: 1 }));
    await recordReplays(world.pool, schema, replays);
    await world.store.markSuccess({ taskId: ok, generation: 1 }, 1);
    await world.store.markFailure({ taskId: again, generation: 1 }, failed);
    expect(await replayOutcomes(world.pool, schema, replays)).toEqual({
      succeeded: [ok],
      failedAgain: [again],
      running: [running, absent],
    });
    const waiting = waitForReplays(world.pool, schema, replays, { timeoutMs: 10_000, intervalMs: 50 });
    await world.store.markSuccess({ taskId: running, generation: 1 }, 1);
    await world.store.markSuccess({ taskId: absent, generation: 1 }, 1);
    expect(await waiting).toEqual({ succeeded: [ok, running, absent], failedAgain: [again], running: [] });
    const timedOut = await waitForReplays(world.pool, schema, [{ taskId: id("never"), generation: 1 }], {
      timeoutMs: 200,
      intervalMs: 50,
    });
    expect(timedOut.running).toHaveLength(1);
  });

  it("sums up the replays of a window for the dashboard: counts, and the ones not succeeded newest first", async () => {
    const since = new Date();
    const [ok, again, running] = [id("w-ok"), id("w-again"), id("w-running")];
    for (const taskId of [ok, again, running]) await world.store.markFailure({ taskId }, failed);
    await recordReplays(
      world.pool,
      schema,
      [ok, again, running].map((taskId) => ({ taskId, generation: 1 })),
    );
    await world.store.markSuccess({ taskId: ok, generation: 1 }, 1);
    await world.store.markFailure({ taskId: again, generation: 1 }, failed);
    const recent = await replaysSince(world.pool, schema, { since });
    expect(recent).toMatchObject({ succeeded: 1, failedAgain: 1, running: 1 });
    expect(
      recent.unfinished.map((replay) => [replay.taskId, replay.status, replay.generation]).sort(),
    ).toEqual(
      [
        [again, "FAILURE", 1],
        [running, "PENDING", 1],
      ].sort(),
    );
    expect(await replaysSince(world.pool, schema, { since: new Date(Date.now() + 60_000) })).toEqual({
      succeeded: 0,
      failedAgain: 0,
      running: 0,
      unfinished: [],
    });
  });
});
