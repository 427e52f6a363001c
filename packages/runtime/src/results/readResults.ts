import { ToolboxError } from "@worker-toolbox/config";
import type { Pool } from "pg";
import { translateDbError, withDbErrors } from "./dbErrors.js";
import { fromJsonb } from "./jsonText.js";
import { readPythonRow } from "./pythonRow.js";
import { resultListener } from "./resultListener.js";
import { type ResultNote, rowFromNote } from "./resultNote.js";
import type { ResultRow, StoredError, TaskState } from "./resultTypes.js";
import { FINAL_STATES, resultTables } from "./sqlNames.js";
import { type TrackingRecord, trackingColumns, trackingFromRow } from "./trackingStore.js";

export type { ResultRow } from "./resultTypes.js";

export interface StoredResult {
  status: TaskState;
  /** The SUCCESS value: `result_json`, or for a row Celery (Python) wrote, its pickled `result`. */
  value: unknown;
  /** Last progress meta (a custom state's meta, for a row Celery wrote). */
  meta: unknown;
  /** FAILURE, RETRY and REVOKED: the exception (for a row Celery wrote, from its pickled exception dict). */
  error: StoredError | null;
  /**
   * Set when a row Celery wrote holds a pickle outside what the toolbox reads (e.g. an instance of the
   * worker's own class; docs/results.md): why. `value`, `meta` and `error` are then null.
   */
  unreadable: string | null;
  traceback: string | null;
  dateDone: Date | null;
  startedAt: Date | null;
  updatedAt: Date | null;
  worker: string | null;
  retries: number | null;
  name: string | null;
  parentId: string | null;
  rootId: string | null;
  /** 0 for the original run, n after the n-th replay. */
  generation: number;
  /** When the current generation was started by a replay; null for the original run. */
  replayedAt: Date | null;
}

export interface TaskView {
  taskId: string;
  /** The result row's status, or PENDING when no worker has reported yet. */
  status: TaskState;
  name: string | null;
  tracking: TrackingRecord | null;
  result: StoredResult | null;
}

export interface TaskFamily {
  rootId: string;
  /** FAILURE if any member failed or was revoked; else STARTED while any is unfinished; else SUCCESS. */
  status: TaskState;
  tasks: TaskView[];
}

// date_done is naive UTC (Celery's convention); AT TIME ZONE turns it into an absolute instant.
// `result` (the pickle) only for rows without the toolbox's JSON columns: the rows Celery wrote.
const RESULT_COLUMNS = `task_id, status, result_json, meta, error, traceback,
  CASE WHEN result_json IS NULL AND meta IS NULL AND error IS NULL THEN result END AS result,
  date_done AT TIME ZONE 'UTC' AS date_done, started_at, updated_at, worker, retries, name, parent_id, root_id,
  generation, replayed_at`;

export function resultFromRow(r: ResultRow): StoredResult {
  const python = r.result ? readPythonRow(r.status, r.result, r.traceback) : undefined;
  return {
    status: r.status,
    value: python ? python.value : fromJsonb(r.result_json),
    meta: python ? python.meta : fromJsonb(r.meta),
    error: python ? python.error : r.error,
    unreadable: python?.unreadable ?? null,
    traceback: r.traceback,
    dateDone: r.date_done,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    worker: r.worker,
    retries: r.retries,
    name: r.name,
    parentId: r.parent_id,
    rootId: r.root_id,
    generation: r.generation,
    replayedAt: r.replayed_at,
  };
}

export function view(taskId: string, tracking: TrackingRecord | null, result: StoredResult | null): TaskView {
  return {
    taskId,
    status: result?.status ?? "PENDING",
    name: tracking?.name ?? result?.name ?? null,
    tracking,
    result,
  };
}

// One round trip for both rows: the result (r) and the tracking row (k_-prefixed columns), either may be absent.
const TRACKING_NAMES = trackingColumns.split(", ");
const TRACKING_AS_K = TRACKING_NAMES.map((c) => `k.${c} AS k_${c}`).join(", ");

async function readTask(pool: Pool, schema: string, taskId: string): Promise<TaskView> {
  const t = resultTables(schema);
  const { rows } = await pool.query(
    `SELECT r.*, ${TRACKING_AS_K} FROM (SELECT 1) one
     LEFT JOIN (SELECT ${RESULT_COLUMNS} FROM ${t.results} WHERE task_id = $1) r ON true
     LEFT JOIN ${t.tracking} k ON k.task_id = $1`,
    [taskId],
  );
  const row = rows[0];
  if (!row) return view(taskId, null, null);
  const tracking =
    row.k_task_id === null
      ? null
      : trackingFromRow(Object.fromEntries(TRACKING_NAMES.map((c) => [c, row[`k_${c}`]])));
  return view(taskId, tracking, row.task_id === null ? null : resultFromRow(row as ResultRow));
}

/** Tracking record, result and status of one task; status PENDING when nothing is stored. */
export function getTask(pool: Pool, schema: string, taskId: string): Promise<TaskView> {
  return withDbErrors(pool, schema, `read task ${taskId}`, () => readTask(pool, schema, taskId));
}

/**
 * The stored results of several tasks in one query (absent ids have no row: PENDING), whichever language
 * wrote them. A chord's `celery.chord_unlock` polls its header with it.
 */
export async function getResults(
  pool: Pool,
  schema: string,
  taskIds: readonly string[],
): Promise<Map<string, StoredResult>> {
  const t = resultTables(schema);
  const { rows } = await withDbErrors(pool, schema, `read ${taskIds.length} task result(s)`, () =>
    pool.query<ResultRow>(`SELECT ${RESULT_COLUMNS} FROM ${t.results} WHERE task_id = ANY($1::text[])`, [
      taskIds,
    ]),
  );
  return new Map(rows.map((row) => [row.task_id, resultFromRow(row)]));
}

/** Every task sharing `rootId` (the root included) and the family's overall status. */
export async function getFamily(pool: Pool, schema: string, rootId: string): Promise<TaskFamily> {
  const t = resultTables(schema);
  const [results, tracking] = await withDbErrors(pool, schema, `read the task family of ${rootId}`, () =>
    Promise.all([
      pool.query<ResultRow>(`SELECT ${RESULT_COLUMNS} FROM ${t.results} WHERE root_id = $1 OR task_id = $1`, [
        rootId,
      ]),
      pool.query(
        `SELECT ${trackingColumns} FROM ${t.tracking} WHERE root_id = $1 OR task_id = $1 ORDER BY created_at`,
        [rootId],
      ),
    ]),
  );
  const byId = new Map<string, { tracking: TrackingRecord | null; result: StoredResult | null }>();
  for (const row of tracking.rows) byId.set(row.task_id, { tracking: trackingFromRow(row), result: null });
  for (const row of results.rows) {
    const entry = byId.get(row.task_id) ?? { tracking: null, result: null };
    entry.result = resultFromRow(row);
    byId.set(row.task_id, entry);
  }
  // Celery's chord bookkeeping task is not part of the user's work (as in Cadasta's overall_status).
  const tasks = [...byId]
    .map(([id, e]) => view(id, e.tracking, e.result))
    .filter((task) => task.name !== "celery.chord_unlock");
  return { rootId, status: familyStatus(tasks.map((task) => task.status)), tasks };
}

export function familyStatus(statuses: readonly TaskState[]): TaskState {
  if (statuses.length === 0) return "PENDING";
  if (statuses.some((s) => s === "FAILURE" || s === "REVOKED")) return "FAILURE";
  if (statuses.some((s) => s !== "SUCCESS")) return "STARTED";
  return "SUCCESS";
}

const isFinal = (status: string | undefined) => (FINAL_STATES as readonly string[]).includes(status ?? "");

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Read the row again this often while waiting, whatever was heard (default 5,000 ms; 0: never). The
   * safety net for notifications that never come: LISTEN through a transaction-pooling PgBouncer hears
   * nothing, and a half-open listening connection reports nothing.
   */
  recheckMs?: number;
}

const DEFAULT_RECHECK_MS = 5_000;

/**
 * Resolve with the task once it reaches a final state (SUCCESS/FAILURE/REVOKED); reject with
 * RESULT_TIMEOUT after `timeoutMs`. Listens on the results trigger's channel through one LISTEN
 * connection shared by every waiter on the pool (resultListener.ts), reading the row once LISTEN is
 * active (so a result stored just before is not missed). A final state's notification carries the row
 * (resultNote.ts): the wait resolves from it without reading again, with the tracking row as that first read
 * found it. When the note carries no row (a row Celery wrote, or one too large for a notification), the row
 * is read. It is read again when the listening connection had to be replaced, and every `recheckMs` in case
 * a notification was never delivered.
 */
export function waitForResult(
  pool: Pool,
  schema: string,
  taskId: string,
  options: WaitOptions,
): Promise<TaskView> {
  const listener = resultListener(pool);
  let lastStatus: TaskState = "PENDING";
  return new Promise<TaskView>((resolve, reject) => {
    let settled = false;
    let unsubscribe = () => {};
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(recheck);
      options.signal?.removeEventListener("abort", onAbort);
      unsubscribe();
      fn();
    };
    const fail = (error: unknown) =>
      settle(() => reject(translateDbError(error, pool, schema, `wait for task ${taskId}`)));
    /** The tracking row as the wait's latest read found it, and that read (a note's result waits for it). */
    let tracking: TrackingRecord | null = null;
    let reading: Promise<void> | undefined;
    const check = () => {
      reading = readTask(pool, schema, taskId).then((task) => {
        lastStatus = task.status;
        tracking = task.tracking;
        if (isFinal(task.status)) settle(() => resolve(task));
      }, fail);
      return reading;
    };
    /** A final state's note: resolve with the row it carries, or read the row when it carries none. */
    const onFinal = (note: ResultNote) => {
      const row = rowFromNote(note);
      if (!row) return void check();
      const result = resultFromRow(row);
      void Promise.resolve(reading).then(() => settle(() => resolve(view(taskId, tracking, result))));
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(
            new ToolboxError(
              "RESULT_TIMEOUT",
              `Task ${taskId} did not finish within ${options.timeoutMs} ms (last status ${lastStatus}, schema "${schema}").`,
              {
                hint: "Wait longer, or check that a worker consumes this task's queue (`worker-toolbox doctor`).",
              },
            ),
          ),
        ),
      options.timeoutMs,
    );
    const recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
    const recheck = recheckMs > 0 ? setInterval(() => void check(), recheckMs) : undefined;
    const onAbort = () => settle(() => reject(options.signal?.reason ?? new Error("aborted")));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) return onAbort();
    listener
      .subscribe(schema, taskId, (note) => {
        if (settled) return;
        if (!note) {
          // The listening connection broke: a write may have gone unheard. Listen again, then re-read.
          listener.ready().then(check, fail);
          return;
        }
        lastStatus = note.status as TaskState;
        if (isFinal(note.status)) onFinal(note);
      })
      .then((off) => {
        if (settled) off();
        else {
          unsubscribe = off;
          void check();
        }
      }, fail);
  });
}
