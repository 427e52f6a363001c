import type pg from "pg";
import { describe, expect, it } from "vitest";
import {
  createResultStore,
  followResults,
  getTask,
  type TaskView,
} from "../../packages/runtime/src/results/index.js";
import { resultsWorld } from "./world.js";

/**
 * followResults (what `worker-toolbox dev` shows) on a real PostgreSQL: a final state's note carries the row
 * (sql/000006.sql), so the follower builds the task from it with no read; a note without the row (a state on
 * the way, a row too large for a note, a database set to `worker_toolbox.result_notes = 'ids'`) is read back.
 * Every test counts the follower pool's queries (its LISTEN goes through the held client, not counted) and
 * compares what was delivered with a fresh getTask.
 */
const schema = "followed";
const world = resultsWorld("follow", { schema, workerName: "w@host" });
let n = 0;
const id = (label: string) => `${label}-${++n}`;

interface Following {
  seen: TaskView[];
  reads: () => number;
  /** Resolves once `count` tasks were delivered. */
  delivered: (count: number) => Promise<void>;
}

/** A follower on a pool of its own whose queries are counted, stopped after the test. */
async function withFollower(test: (following: Following) => Promise<void>) {
  const pool = world.newPool({ max: 3 });
  let reads = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: unknown }).query = (...args: unknown[]) => {
    reads += 1;
    return query(...args);
  };
  const seen: TaskView[] = [];
  const errors: Error[] = [];
  const stop = await followResults(pool, {
    schema,
    onResult: (task) => seen.push(task),
    onError: (error) => errors.push(error),
  });
  try {
    await test({
      seen,
      reads: () => reads,
      delivered: (count) => expect.poll(() => seen.length, { timeout: 5_000 }).toBe(count),
    });
    expect(errors).toEqual([]);
  } finally {
    await stop();
  }
}

/** The part of a task a note can carry: everything but the tracking row. */
const resultOf = (task: TaskView) => ({ taskId: task.taskId, status: task.status, result: task.result });

describe("followResults", () => {
  it("builds a final state's task from its note, with no read; the states on the way are read", async () => {
    await withFollower(async ({ seen, reads, delivered }) => {
      const [ok, failed] = [id("ok"), id("failed")];
      const when = new Date("2026-12-05T22:10:00.250Z");
      await world.store.markStarted({ taskId: ok, name: "follow.ok" });
      await delivered(1);
      await world.store.markSuccess({ taskId: ok, name: "follow.ok", retries: 1 }, { when, n: [1, null] });
      await world.store.markFailure(
        { taskId: failed, name: "follow.failed" },
        { type: "KeyError", message: "k" },
      );
      await delivered(3);
      expect(reads()).toBe(1); // STARTED only: its note carries no row
      expect(seen.map((task) => [task.taskId, task.status])).toEqual([
        [ok, "STARTED"],
        [ok, "SUCCESS"],
        [failed, "FAILURE"],
      ]);
      const [, okView, failedView] = seen as [TaskView, TaskView, TaskView];
      expect(okView.name).toBe("follow.ok");
      expect(okView.result?.value).toEqual({ when, n: [1, null] });
      expect(okView.tracking).toBeNull();
      expect(resultOf(okView)).toEqual(resultOf(await getTask(world.pool, schema, ok)));
      expect(resultOf(failedView)).toEqual(resultOf(await getTask(world.pool, schema, failed)));
    });
  });

  it("a state whose read finds the task already finished is not shown: the task is shown finished once", async () => {
    await withFollower(async ({ seen, reads, delivered }) => {
      const taskId = id("quick");
      // Both writes commit together: the STARTED note's read finds SUCCESS.
      const client = await world.pool.connect();
      try {
        await client.query("BEGIN");
        const store = createResultStore({ pool: client as unknown as pg.Pool, schema, workerName: "w" });
        await store.markStarted({ taskId });
        await store.markSuccess({ taskId }, "done");
        await client.query("COMMIT");
      } finally {
        client.release();
      }
      await delivered(1);
      await expect.poll(reads).toBe(1);
      await world.store.markSuccess({ taskId: id("after") }, "after"); // a later note: nothing else was queued
      await delivered(2);
      expect(seen.map((task) => [task.status, task.result?.value])).toEqual([
        ["SUCCESS", "done"],
        ["SUCCESS", "after"],
      ]);
    });
  });

  it("reads back a result too large for a note, and ignores another schema's notes", async () => {
    const other = "elsewhere";
    const { migrate } = await import("../../packages/runtime/src/results/index.js");
    await migrate(world.pool, { schema: other });
    const elsewhere = createResultStore({ pool: world.pool, schema: other, workerName: "w" });
    await withFollower(async ({ seen, reads, delivered }) => {
      const large = "z".repeat(10_000);
      const [big, small] = [id("large"), id("small")];
      await elsewhere.markSuccess({ taskId: id("other-schema") }, "not ours");
      await world.store.markSuccess({ taskId: big }, large);
      await world.store.markSuccess({ taskId: small }, "small");
      await delivered(2);
      expect(seen.map((task) => task.taskId)).toEqual([big, small]); // in the order written
      expect(seen[0]?.result?.value).toBe(large);
      expect(reads()).toBe(1); // the large one
    });
  });

  it("an onResult that throws is reported through onError, and the next results still arrive", async () => {
    const pool = world.newPool({ max: 2 });
    const seen: string[] = [];
    const errors: string[] = [];
    const stop = await followResults(pool, {
      schema,
      onResult: (task) => {
        seen.push(task.taskId);
        if (seen.length === 1) throw new Error("display failed");
      },
      onError: (error) => errors.push(error.message),
    });
    try {
      const [first, second] = [id("throws"), id("next")];
      await world.store.markSuccess({ taskId: first }, 1);
      await world.store.markSuccess({ taskId: second }, 2);
      await expect.poll(() => seen, { timeout: 5_000 }).toEqual([first, second]);
      expect(errors).toEqual(["display failed"]);
    } finally {
      await stop();
    }
  });

  it("a database set to worker_toolbox.result_notes = 'ids' still shows every result, each read back", async () => {
    const database = world.db.url.split("/").pop()!.split("?")[0]!;
    await world.pool.query(`ALTER DATABASE "${database}" SET worker_toolbox.result_notes = 'ids'`);
    const writer: pg.Pool = world.newPool({ max: 1 }); // new sessions take the database's setting
    try {
      await withFollower(async ({ seen, reads, delivered }) => {
        const taskId = id("ids-only");
        await createResultStore({ pool: writer, schema, workerName: "w" }).markSuccess({ taskId }, "kept");
        await delivered(1);
        expect(seen[0]?.result?.value).toBe("kept");
        expect(seen[0]?.tracking).toBeNull(); // no tracking row was written: the read found none
        expect(reads()).toBe(1);
      });
    } finally {
      await world.pool.query(`ALTER DATABASE "${database}" RESET worker_toolbox.result_notes`);
    }
  });
});
