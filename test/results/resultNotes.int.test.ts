import type pg from "pg";
import { describe, expect, it, vi } from "vitest";
import {
  createResultStore,
  createResultWatcher,
  getTask,
  type ResultWatcher,
  type TaskView,
  upsertTracking,
} from "../../packages/runtime/src/results/index.js";
import { resultsWorld } from "./world.js";

/**
 * A final state's notification carries the row (sql/000006.sql), so a wait resolves from the note alone: the
 * only read of a wait that starts before the result is its first one. Each test counts the reads a wait makes
 * (the pool's queries) and compares what it resolved with to a fresh getTask of the same task: the same value
 * model either way. A note that cannot carry the row (too large for PostgreSQL's 8,000-byte payloads, or a
 * row only Celery's pickle describes) makes the wait read it, and a wait whose note never came still resolves
 * from its periodic re-read.
 */
const schema = "noted";
const world = resultsWorld("notes", { schema, workerName: "w@host" });
let n = 0;
const id = (label: string) => `${label}-${++n}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NOTES_ONLY = { timeoutMs: 10_000, recheckMs: 0 };

/** A watcher on a pool of its own whose queries are counted (the listening connection's LISTEN is not). */
async function withCountedWatcher(test: (watcher: ResultWatcher, reads: () => number) => Promise<void>) {
  const pool = world.newPool({ max: 3 });
  const watcher = createResultWatcher({ pool, schema });
  try {
    await watcher.ready();
    let reads = 0;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as { query: unknown }).query = (...args: unknown[]) => {
      reads += 1;
      return query(...args);
    };
    await test(watcher, () => reads);
  } finally {
    await watcher.close();
  }
}

/** Write the row the way Celery's database backend does: the pickle only, no JSON column. */
async function celeryRow(pool: pg.Pool, taskId: string, pickle: Buffer): Promise<void> {
  await pool.query(
    `INSERT INTO ${schema}.celery_taskmeta (id, task_id, status, result, date_done)
     VALUES (nextval('${schema}.task_id_sequence'), $1, 'SUCCESS', $2, now() AT TIME ZONE 'UTC')`,
    [taskId, pickle],
  );
}

describe("result notifications carry the final row", () => {
  it("a wait resolves from the note alone, with what a read of the row gives", async () => {
    await withCountedWatcher(async (watcher, reads) => {
      const [ok, failed] = [id("noted-ok"), id("noted-failed")];
      await upsertTracking(world.pool, schema, [{ taskId: ok, name: "notes.ok", args: [1, "x"] }]);
      const waits = [watcher.wait(ok, NOTES_ONLY), watcher.wait(failed, NOTES_ONLY)];
      await sleep(100); // both first reads are done: the results come after
      expect(reads()).toBe(2);
      const when = new Date("2026-12-05T19:40:00.123Z");
      await world.store.markStarted({ taskId: ok });
      await world.store.markSuccess(
        { taskId: ok, name: "notes.ok", retries: 2 },
        { when, list: [1, 2.5, null] },
      );
      await world.store.markFailure({ taskId: failed }, { type: "ValueError", message: "no", stack: "at x" });
      const [okView, failedView] = (await Promise.all(waits)) as [TaskView, TaskView];
      expect(reads()).toBe(2); // no read after the notes
      expect(okView.result?.value).toEqual({ when, list: [1, 2.5, null] });
      expect(okView.tracking).toMatchObject({ taskId: ok, name: "notes.ok", args: [1, "x"] });
      expect(okView).toEqual(await getTask(world.pool, schema, ok));
      expect(failedView.result?.error).toMatchObject({ type: "ValueError", message: "no" });
      expect(failedView).toEqual(await getTask(world.pool, schema, failed));
    });
  });

  it("parses only the notes someone waits for: unrelated results wake no one, the waits resolve", async () => {
    await withCountedWatcher(async (watcher) => {
      // A task id with a quote: its note's address holds an escape, so it is parsed whole.
      const waited = [id("waited"), `${id("quoted")} "x"`];
      const others = [...Array.from({ length: 40 }, () => id("other")), `${id("other")} "y"`];
      const parse = JSON.parse;
      const parsed: string[] = [];
      const spy = vi.spyOn(JSON, "parse").mockImplementation((text, reviver) => {
        if (typeof text === "string" && text.startsWith('{"schema"')) parsed.push(text);
        return parse(text, reviver);
      });
      try {
        let resolved = 0;
        const waits = waited.map((taskId) => watcher.wait(taskId, NOTES_ONLY).finally(() => resolved++));
        await sleep(100);
        await Promise.all(others.map((taskId) => world.store.markSuccess({ taskId }, taskId)));
        await sleep(100);
        expect([resolved, watcher.waiting]).toEqual([0, 2]);
        // Only the unrelated note whose address holds an escape was parsed (and ignored).
        expect(parsed.map((note) => parse(note).task_id)).toEqual([others.at(-1)]);
        for (const taskId of waited) await world.store.markSuccess({ taskId }, `for ${taskId}`);
        const views = await Promise.all(waits);
        expect(views.map((view) => view.result?.value)).toEqual(waited.map((taskId) => `for ${taskId}`));
        expect(parsed.map((note) => parse(note).task_id)).toEqual([others.at(-1), ...waited]);
      } finally {
        spy.mockRestore();
      }
    });
  });

  it("a result too large for a notification is read back: the note carries no row, the write succeeds", async () => {
    await withCountedWatcher(async (watcher, reads) => {
      const taskId = id("large");
      const waiting = watcher.wait(taskId, NOTES_ONLY);
      await sleep(100);
      const large = "y".repeat(10_000);
      await world.store.markSuccess({ taskId }, large);
      const view = await waiting;
      expect(view.result?.value).toBe(large);
      expect(reads()).toBe(2); // the first read, and the read after the note
    });
  });

  it("a database set to worker_toolbox.result_notes = 'ids' sends ids and states only: the wait reads the row", async () => {
    const database = world.db.url.split("/").pop()!.split("?")[0]!;
    await world.pool.query(`ALTER DATABASE "${database}" SET worker_toolbox.result_notes = 'ids'`);
    const writer = world.newPool({ max: 1 }); // new sessions take the database's setting
    const listener = await world.pool.connect();
    try {
      const notes: string[] = [];
      listener.on("notification", (note) => notes.push(note.payload ?? ""));
      await listener.query("LISTEN worker_toolbox_result");
      await withCountedWatcher(async (watcher, reads) => {
        const taskId = id("ids-only");
        const waiting = watcher.wait(taskId, NOTES_ONLY);
        await sleep(100);
        await createResultStore({ pool: writer, schema, workerName: "w" }).markSuccess({ taskId }, "kept");
        expect((await waiting).result?.value).toBe("kept");
        expect(reads()).toBe(2); // the first read, and the read after the note
        const note = JSON.parse(notes.find((n) => n.includes(taskId)) ?? "{}");
        expect(note).toEqual({ schema, task_id: taskId, status: "SUCCESS" });
      });
    } finally {
      listener.release();
      await world.pool.query(`ALTER DATABASE "${database}" RESET worker_toolbox.result_notes`);
    }
  });

  it("a row Celery wrote (a pickle, no JSON column) is read back and unpickled", async () => {
    await withCountedWatcher(async (watcher, reads) => {
      const taskId = id("celery");
      const waiting = watcher.wait(taskId, NOTES_ONLY);
      await sleep(100);
      await celeryRow(world.pool, taskId, Buffer.from([0x80, 0x02, 0x4b, 0x07, 0x2e])); // pickle of 7
      expect((await waiting).result?.value).toBe(7);
      expect(reads()).toBe(2);
    });
  });

  it("a wait whose note never came resolves from its periodic re-read", async () => {
    await withCountedWatcher(async (watcher) => {
      const taskId = id("unheard");
      const waiting = watcher.wait(taskId, { timeoutMs: 10_000, recheckMs: 200 });
      await sleep(100);
      // A session that fires no triggers: the row is written without a notification.
      const client = await world.pool.connect();
      try {
        await client.query("SET session_replication_role = replica");
        await createResultStore({ pool: client as unknown as pg.Pool, schema, workerName: "w" }).markSuccess(
          { taskId },
          "unheard",
        );
      } finally {
        await client.query("RESET session_replication_role");
        client.release();
      }
      expect((await waiting).result?.value).toBe("unheard");
    });
  });
});
