import { isToolboxError } from "@worker-toolbox/config";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { createResultWatcher, type ResultWatcher } from "../../packages/runtime/src/results/index.js";
import { testPool } from "../support/database.js";
import { resultsWorld } from "./world.js";

/**
 * The long-lived result listener (createResultWatcher) on a real PostgreSQL: every wait gets its own task's
 * result, the listening connection stays open between waits and comes back after it was killed, a wait
 * times out cleanly, and close() ends the waits and gives the connection back. recheckMs 0 throughout: only
 * a notification can wake a wait, so each test proves the listening path itself.
 */
const schema = "watched";
const world = resultsWorld("watcher", { schema, workerName: "w@host" });
let n = 0;
const id = (label: string) => `${label}-${++n}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NOTES_ONLY = { timeoutMs: 10_000, recheckMs: 0 };

/** Backends of this database whose last statement was LISTEN: the watcher's listening connection. */
async function listeners(): Promise<number[]> {
  const { rows } = await world.pool.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
  );
  return rows.map((row) => row.pid);
}

/** Resolves once a backend other than `killed` listens (the watcher reconnected). */
async function relistened(killed: number | undefined): Promise<void> {
  await expect
    .poll(async () => (await listeners()).filter((pid) => pid !== killed).length, { timeout: 5_000 })
    .toBe(1);
}

/** A pool and a watcher of its own for one test, closed after it. */
async function withWatcher(test: (watcher: ResultWatcher, pool: pg.Pool) => Promise<void>, max = 3) {
  const pool = testPool({ connectionString: world.db.url, max });
  const watcher = createResultWatcher({ pool, schema });
  try {
    await watcher.ready();
    await test(watcher, pool);
  } finally {
    await watcher.close();
    await pool.end();
  }
}

describe("result watcher", () => {
  it("delivers every waiter its own task's result, many waits on one listening connection", async () => {
    await withWatcher(async (watcher, pool) => {
      const ids = Array.from({ length: 40 }, () => id("many"));
      const shared = id("shared");
      const waits = ids.map((taskId) => watcher.wait(taskId, NOTES_ONLY));
      const sharedWaits = [1, 2, 3].map(() => watcher.wait(shared, NOTES_ONLY));
      await sleep(200);
      expect(watcher.waiting).toBe(41);
      expect(pool.totalCount).toBeLessThanOrEqual(3);
      // Written in another order than waited for; every fourth one fails.
      const order = [...ids].reverse();
      await Promise.all(
        order.map((taskId, i) =>
          i % 4 === 0
            ? world.store.markFailure({ taskId }, { type: "ValueError", message: taskId })
            : world.store.markSuccess({ taskId }, taskId),
        ),
      );
      await world.store.markSuccess({ taskId: shared }, "for all three");
      const views = await Promise.all(waits);
      for (const [i, view] of views.entries()) {
        const taskId = ids[i]!;
        expect(view.taskId).toBe(taskId);
        if (view.status === "SUCCESS") expect(view.result?.value).toBe(taskId);
        else expect(view).toMatchObject({ status: "FAILURE", result: { error: { message: taskId } } });
      }
      expect(views.filter((view) => view.status === "FAILURE")).toHaveLength(10);
      for (const view of await Promise.all(sharedWaits))
        expect(view).toMatchObject({ status: "SUCCESS", result: { value: "for all three" } });
      expect(watcher.waiting).toBe(0);
    });
  });

  it("keeps its connection listening between waits (no LISTEN set-up per wait)", async () => {
    await withWatcher(async (watcher, pool) => {
      const [listening] = await listeners();
      expect(listening).toBeDefined();
      const taskId = id("between");
      const waiting = watcher.wait(taskId, NOTES_ONLY);
      await world.store.markSuccess({ taskId }, 1);
      expect((await waiting).status).toBe("SUCCESS");
      await sleep(100);
      // Nobody waits now, and the same backend still listens; the pool still lends it out.
      expect(watcher.waiting).toBe(0);
      expect(await listeners()).toEqual([listening]);
      expect(pool.totalCount - pool.idleCount).toBe(1);
    });
  });

  it("reopens a killed listening connection by itself and hears the next result", async () => {
    await withWatcher(async (watcher) => {
      const [before] = await listeners();
      await world.pool.query("SELECT pg_terminate_backend($1)", [before]);
      // Nobody waits: the watcher reconnects on its own.
      await relistened(before);
      const taskId = id("after-kill");
      const waiting = watcher.wait(taskId, NOTES_ONLY);
      await sleep(100);
      await world.store.markSuccess({ taskId }, "heard");
      expect(await waiting).toMatchObject({ status: "SUCCESS", result: { value: "heard" } });
    });
  });

  it("a wait running while its connection is killed still gets the result written after", async () => {
    await withWatcher(async (watcher) => {
      const taskId = id("mid-wait");
      const waiting = watcher.wait(taskId, NOTES_ONLY);
      await sleep(100);
      const [before] = await listeners();
      await world.pool.query("SELECT pg_terminate_backend($1)", [before]);
      await relistened(before);
      await world.store.markSuccess({ taskId }, "after the kill");
      expect(await waiting).toMatchObject({ status: "SUCCESS", result: { value: "after the kill" } });
    });
  });

  it("times out cleanly: RESULT_TIMEOUT, nothing left waiting, and the watcher serves the next wait", async () => {
    await withWatcher(async (watcher) => {
      const slow = id("slow");
      await world.store.markStarted({ taskId: slow });
      const error = await watcher.wait(slow, { timeoutMs: 300, recheckMs: 0 }).catch((e: unknown) => e);
      expect(isToolboxError(error, "RESULT_TIMEOUT")).toBe(true);
      expect((error as Error).message).toMatch(/last status STARTED/);
      expect(watcher.waiting).toBe(0);
      await world.store.markSuccess({ taskId: slow }, "too late"); // a note nobody waits for
      const next = id("next");
      const waiting = watcher.wait(next, NOTES_ONLY);
      await world.store.markSuccess({ taskId: next }, "next");
      expect((await waiting).status).toBe("SUCCESS");
    });
  });

  it("returns at once for a result stored before the wait started", async () => {
    await withWatcher(async (watcher) => {
      const taskId = id("early");
      await world.store.markSuccess({ taskId }, "early");
      expect(await watcher.wait(taskId, NOTES_ONLY)).toMatchObject({ result: { value: "early" } });
    });
  });

  it("close() rejects the waits still running with CLOSED and gives the connection back", async () => {
    const pool = testPool({ connectionString: world.db.url, max: 3 });
    try {
      const watcher = createResultWatcher({ pool, schema });
      await watcher.ready();
      const waiting = watcher.wait(id("unfinished"), NOTES_ONLY).catch((e: unknown) => e);
      await sleep(100);
      await watcher.close();
      expect(isToolboxError(await waiting, "CLOSED")).toBe(true);
      expect(
        isToolboxError(await watcher.wait(id("late"), NOTES_ONLY).catch((e: unknown) => e), "CLOSED"),
      ).toBe(true);
      await expect.poll(() => pool.totalCount - pool.idleCount).toBe(0);
      expect(await listeners()).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
