/**
 * Terms used by the result backend:
 * - result row: one row of `celery_taskmeta` per task id, written by workers (or Celery itself);
 *   `result` holds the pickle Celery reads, `result_json` / `meta` / `error` the same for TS readers.
 * - tracking row: one row of `worker_toolbox_tasks` per task id ever scheduled, written by the
 *   tracker from the platform queue. It may arrive after the result row: no foreign key.
 * - final state: SUCCESS, FAILURE or REVOKED. A final row is never changed again by its own run; only a
 *   replay (a higher generation) replaces it, and the earlier outcome is kept in the task's state history.
 * - family: all tasks sharing a root id (a task, the tasks it scheduled, theirs, ...).
 */

/** Celery's task states plus PROGRESS, the conventional custom state for progress meta. */
export type TaskState =
  | "PENDING"
  | "RECEIVED"
  | "STARTED"
  | "PROGRESS"
  | "RETRY"
  | "SUCCESS"
  | "FAILURE"
  | "REVOKED";

/** What the worker knows about the task an outcome belongs to; everything but the id is optional. */
export interface TaskRef {
  taskId: string;
  /**
   * Which run of the task this is: 0 for the original, n for its n-th replay (the message's generation
   * header). A higher generation replaces a final row (the earlier outcome goes to the state history); a
   * lower one never changes the row.
   */
  generation?: number;
  /** Task name, e.g. `export.project.v2`. */
  name?: string;
  args?: readonly unknown[];
  kwargs?: Readonly<Record<string, unknown>>;
  /** How many times this task was retried before this attempt (Celery's `retries` header). */
  retries?: number;
  queue?: string;
  parentId?: string | null;
  rootId?: string | null;
}

/** An error as stored: `type`/`module` name the Python exception class Celery re-raises. */
export interface TaskErrorInfo {
  /** e.g. `ValueError`. Unknown names are fine: Celery synthesises an exception class. */
  type: string;
  message: string;
  /** Python module of `type`; default `builtins`. */
  module?: string;
  /** Stack trace text, stored as Celery's `traceback`. */
  stack?: string;
}

export type TaskOutcome = TaskRef &
  (
    | { state: "STARTED" }
    | { state: "PROGRESS"; meta: unknown }
    | { state: "RETRY"; error: TaskErrorInfo; eta?: Date }
    | { state: "SUCCESS"; result: unknown }
    | { state: "FAILURE"; error: TaskErrorInfo }
    | { state: "REVOKED"; reason: string }
  );

export interface WriteSummary {
  /** Task ids whose row was inserted or changed. */
  written: string[];
  /** Task ids left as they were: already final, or a stale attempt (lower `retries`). */
  unchanged: string[];
  /**
   * Whether the row now holds `outcome` (one of those written): false when the store kept the row it had (a
   * final row of the same generation, a later attempt, a later generation) or another outcome of the same task
   * in this write took precedence. The store decides; callers count and log by its answer.
   */
  stored(outcome: TaskOutcome): boolean;
}

/** An error as read back: a FAILURE's, RETRY's or REVOKED's (for a row Celery wrote, from its pickle). */
export interface StoredError {
  type: string;
  message: string;
  module: string;
  stack?: string;
  eta?: string;
}

/** A `celery_taskmeta` row as read (the in-process runner's memory holds the same rows). */
export interface ResultRow {
  task_id: string;
  status: TaskState;
  result_json: unknown;
  meta: unknown;
  error: StoredError | null;
  traceback: string | null;
  result: Buffer | null;
  date_done: Date | null;
  started_at: Date | null;
  updated_at: Date | null;
  worker: string | null;
  retries: number | null;
  name: string | null;
  parent_id: string | null;
  root_id: string | null;
  generation: number;
  replayed_at: Date | null;
}
