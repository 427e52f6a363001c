import { describe, expect, it } from "vitest";
import {
  createResultStore,
  getTask,
  pruneResults,
  upsertTracking,
} from "../../packages/runtime/src/results/index.js";
import { resultsWorld } from "./world.js";

const schema = "prune";
const world = resultsWorld("prune", { schema });

/** Move a task's timestamps `days` into the past, as if it had finished then. */
async function age(taskId: string, days: number) {
  await world.pool.query(
    `UPDATE prune.celery_taskmeta SET date_done = date_done - make_interval(days => $2) WHERE task_id = $1`,
    [taskId, days],
  );
  await world.pool.query(
    `UPDATE prune.worker_toolbox_tasks SET updated_at = updated_at - make_interval(days => $2) WHERE task_id = $1`,
    [taskId, days],
  );
}

describe("upsertTracking", () => {
  it("is idempotent on task_id and records the highest retries", async () => {
    const row = { taskId: "t-1", name: "svc.task", args: [1], tracking: { requested_by: "u1" } };
    expect(await upsertTracking(world.pool, schema, [row, row])).toEqual({
      inserted: 1,
      updated: 0,
      unchanged: 1,
    });
    const first = (await getTask(world.pool, schema, "t-1")).tracking!;
    await new Promise((r) => setTimeout(r, 20));
    expect(
      await upsertTracking(world.pool, schema, [{ ...row, retries: 2, tracking: { attempt: 3 } }]),
    ).toEqual({
      inserted: 0,
      updated: 1,
      unchanged: 0,
    });
    expect(await upsertTracking(world.pool, schema, [{ ...row, retries: 1 }])).toEqual({
      inserted: 0,
      updated: 0,
      unchanged: 1,
    });
    const tracked = (await getTask(world.pool, schema, "t-1")).tracking!;
    expect(tracked).toMatchObject({ retries: 2, args: [1], tracking: { requested_by: "u1", attempt: 3 } });
    expect(tracked.createdAt).toEqual(first.createdAt);
    expect(tracked.updatedAt.getTime()).toBeGreaterThan(first.updatedAt.getTime());
  });
});

describe("pruneResults", () => {
  it("deletes old finished results and their tracking rows in batches, and nothing else", async () => {
    const store = createResultStore({ pool: world.pool, schema, workerName: "w" });
    const old = Array.from({ length: 25 }, (_, i) => `old-${i}`);
    await upsertTracking(
      world.pool,
      schema,
      [...old, "recent", "running", "orphan", "fresh-orphan"].map((taskId) => ({ taskId, name: "svc.task" })),
    );
    await store.writeMany(old.map((taskId) => ({ taskId, state: "SUCCESS" as const, result: 1 })));
    await store.markFailure({ taskId: "recent" }, { type: "ValueError", message: "x" });
    await store.markStarted({ taskId: "running" });
    for (const taskId of [...old, "running", "orphan"]) await age(taskId, 40);

    const progress: number[] = [];
    const counts = await pruneResults(world.pool, schema, {
      olderThanMs: 30 * 24 * 3600 * 1000,
      batchSize: 10,
      onProgress: (p) => progress.push(p.results),
    });
    expect(counts).toEqual({ results: 25, tracking: 26 }); // 25 with results + the old orphan
    expect(progress.slice(0, 3)).toEqual([10, 20, 25]);
    const { rows } = await world.pool.query("SELECT task_id FROM prune.celery_taskmeta ORDER BY 1");
    expect(rows.map((r) => r.task_id)).toEqual(["recent", "running"]);
    const tracking = await world.pool.query("SELECT task_id FROM prune.worker_toolbox_tasks ORDER BY 1");
    expect(tracking.rows.map((r) => r.task_id)).toEqual(["fresh-orphan", "recent", "running", "t-1"]);
    expect(await pruneResults(world.pool, schema, { olderThanMs: 30 * 24 * 3600 * 1000 })).toEqual({
      results: 0,
      tracking: 0,
    });
  });
});
