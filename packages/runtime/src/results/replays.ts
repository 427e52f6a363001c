import type { Pool } from "pg";
import { withDbErrors } from "./dbErrors.js";
import { encodePickle } from "./pickle.js";
import { resultTables } from "./sqlNames.js";

/**
 * The result table's side of a replay (`worker-toolbox dlq replay`, the dashboard). A replay starts a new
 * generation of the task: its copy carries the generation, the worker's writes with it replace the row
 * (resultStore.ts), and writes of an older generation never do. Here: which generation a replay gets, the
 * record of the replay on the row, and what became of it.
 */
export interface Replay {
  taskId: string;
  /** The generation the replayed copy carries. */
  generation: number;
}

/** The generation a replay of each task starts: one past the row's (1 when the task has no row). */
export async function nextGenerations(
  pool: Pool,
  schema: string,
  taskIds: readonly string[],
): Promise<Map<string, number>> {
  const t = resultTables(schema);
  const { rows } = await withDbErrors(pool, schema, "read result generations", () =>
    pool.query<{ task_id: string; generation: number }>(
      `SELECT task_id, generation FROM ${t.results} WHERE task_id = ANY($1::text[])`,
      [[...taskIds]],
    ),
  );
  const current = new Map(rows.map((row) => [row.task_id, row.generation] as const));
  return new Map(taskIds.map((id) => [id, (current.get(id) ?? 0) + 1] as const));
}

const PICKLED_NONE = encodePickle(null);

/**
 * Record replays whose copies the broker confirmed: the row moves to the new generation as PENDING (what
 * Celery reports for a task not yet run), `replayed_at` is now, and retries start again from 0; the outcome
 * it replaces goes to the task's state history (the triggers of sql/000002.sql and 000004.sql). A row the
 * replay's worker already wrote (it can be that fast) or a task with no row is left alone. Returns how many
 * rows were marked.
 */
export async function recordReplays(pool: Pool, schema: string, replays: readonly Replay[]): Promise<number> {
  if (replays.length === 0) return 0;
  const t = resultTables(schema);
  const { rowCount } = await withDbErrors(pool, schema, `record ${replays.length} replay(s)`, () =>
    pool.query(
      `UPDATE ${t.results} AS t SET
         generation = r.generation,
         replayed_at = now(),
         status = 'PENDING',
         result = $3,
         result_json = NULL,
         error = NULL,
         traceback = NULL,
         meta = NULL,
         retries = 0,
         started_at = NULL,
         date_done = now() AT TIME ZONE 'UTC',
         updated_at = now()
        FROM unnest($1::text[], $2::int[]) AS r(task_id, generation)
       WHERE t.task_id = r.task_id AND t.generation < r.generation`,
      [replays.map((r) => r.taskId), replays.map((r) => r.generation), PICKLED_NONE],
    ),
  );
  return rowCount ?? 0;
}

export interface ReplayOutcomes {
  /** The replay's run stored SUCCESS. */
  succeeded: string[];
  /** The replay's run stored FAILURE or REVOKED. */
  failedAgain: string[];
  /** No final outcome of the replay's generation yet. */
  running: string[];
}

/** The outcome a row stands for, as far as its replay is concerned. */
function outcomeOf(status: string | null): keyof ReplayOutcomes {
  if (status === "SUCCESS") return "succeeded";
  if (status === "FAILURE" || status === "REVOKED") return "failedAgain";
  return "running";
}

/** Where each replay stands, in one query. */
export async function replayOutcomes(
  pool: Pool,
  schema: string,
  replays: readonly Replay[],
): Promise<ReplayOutcomes> {
  const t = resultTables(schema);
  const { rows } = await withDbErrors(pool, schema, "read replay outcomes", () =>
    pool.query<{ task_id: string; status: string | null; generation: number }>(
      `SELECT task_id, status, generation FROM ${t.results} WHERE task_id = ANY($1::text[])`,
      [replays.map((r) => r.taskId)],
    ),
  );
  const byId = new Map(rows.map((row) => [row.task_id, row] as const));
  const out: ReplayOutcomes = { succeeded: [], failedAgain: [], running: [] };
  for (const replay of replays) {
    const row = byId.get(replay.taskId);
    if (!row || row.generation < replay.generation) out.running.push(replay.taskId);
    else out[outcomeOf(row.status)].push(replay.taskId);
  }
  return out;
}

export interface WaitForReplaysOptions {
  timeoutMs: number;
  /** How often to look (default 500 ms). One query covers every replay. */
  intervalMs?: number;
  onProgress?: (outcomes: ReplayOutcomes) => void;
  signal?: AbortSignal;
}

/**
 * Wait until every replay has a final outcome of its generation, or the timeout passes; resolves with where
 * they stand either way. Polls with one query for all of them, rather than a LISTEN per task: a replay can
 * be thousands of tasks, and the answer only has to be seconds fresh.
 */
export async function waitForReplays(
  pool: Pool,
  schema: string,
  replays: readonly Replay[],
  options: WaitForReplaysOptions,
): Promise<ReplayOutcomes> {
  const until = Date.now() + options.timeoutMs;
  for (;;) {
    const outcomes = await replayOutcomes(pool, schema, replays);
    options.onProgress?.(outcomes);
    if (outcomes.running.length === 0 || Date.now() >= until || options.signal?.aborted) return outcomes;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(options.intervalMs ?? 500, until - Date.now())),
    );
  }
}

/** A replayed task that has not succeeded (yet): what an operator looks at next. */
export interface UnfinishedReplay {
  taskId: string;
  name: string | null;
  status: string | null;
  generation: number;
  replayedAt: Date;
}

export interface RecentReplays {
  succeeded: number;
  failedAgain: number;
  running: number;
  /** The latest replays that failed again or are still running, newest first (at most `limit`). */
  unfinished: UnfinishedReplay[];
}

/**
 * What became of the tasks replayed since `since` (the rows' `replayed_at`; a task replayed twice counts
 * once, as its latest replay): the dashboard's answer to `dlq replay --wait`, for replays started anywhere.
 */
export async function replaysSince(
  pool: Pool,
  schema: string,
  options: { since: Date; limit?: number },
): Promise<RecentReplays> {
  const t = resultTables(schema);
  const { rows } = await withDbErrors(pool, schema, "read recent replays", () =>
    pool.query<{ status: string | null; count: number }>(
      `SELECT status, count(*)::int AS count FROM ${t.results} WHERE replayed_at >= $1 GROUP BY status`,
      [options.since],
    ),
  );
  const out: RecentReplays = { succeeded: 0, failedAgain: 0, running: 0, unfinished: [] };
  for (const row of rows) out[outcomeOf(row.status)] += row.count;
  if (out.failedAgain + out.running === 0) return out;
  const unfinished = await withDbErrors(pool, schema, "read recent replays", () =>
    pool.query<{
      task_id: string;
      name: string | null;
      status: string | null;
      generation: number;
      replayed_at: Date;
    }>(
      `SELECT task_id, name, status, generation, replayed_at FROM ${t.results}
        WHERE replayed_at >= $1 AND status IS DISTINCT FROM 'SUCCESS'
        ORDER BY replayed_at DESC LIMIT $2`,
      [options.since, options.limit ?? 20],
    ),
  );
  out.unfinished = unfinished.rows.map((row) => ({
    taskId: row.task_id,
    name: row.name,
    status: row.status,
    generation: row.generation,
    replayedAt: row.replayed_at,
  }));
  return out;
}
