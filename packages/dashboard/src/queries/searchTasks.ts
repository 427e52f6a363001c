import type { TaskState } from "@worker-toolbox/runtime";
import type { Pool } from "pg";
import { type Cursor, decodeCursor, encodeCursor, parseArgumentSearch, type TaskFilter } from "./filters.js";
import { tables } from "./tables.js";
import { versionsOf } from "./taskNames.js";

/** One row of the task list: the tracking row joined with its result. */
export interface TaskSummary {
  taskId: string;
  name: string;
  status: TaskState;
  args: unknown[];
  kwargs: Record<string, unknown>;
  rootId: string | null;
  parentId: string | null;
  retries: number;
  createdAt: Date;
  startedAt: Date | null;
  dateDone: Date | null;
  worker: string | null;
  errorType: string | null;
  errorMessage: string | null;
}

export interface TaskPage {
  tasks: TaskSummary[];
  /** Pass as `before` for the next (older) page; undefined on the last page. */
  next: string | undefined;
}

export interface SearchOptions {
  /** Rows per page, 1..500 (default 50). */
  limit?: number;
  /** A `next` value of a previous page. */
  before?: string;
}

interface Row {
  task_id: string;
  name: string;
  status: TaskState | null;
  args: unknown[];
  kwargs: Record<string, unknown>;
  root_id: string | null;
  parent_id: string | null;
  retries: number;
  created_at: Date;
  cursor_at: string;
  started_at: Date | null;
  date_done: Date | null;
  worker: string | null;
  error_type: string | null;
  error_message: string | null;
}

/**
 * Tasks newest first (by when they were scheduled), keyset-paginated on (created_at, task_id) so every page
 * costs the same however deep it is. The tracking table drives the list: it has every task ever scheduled,
 * including those no worker has reported on yet (PENDING). Indexes: sql/000002.sql.
 */
export async function searchTasks(
  pool: Pool,
  schema: string,
  filter: TaskFilter,
  options: SearchOptions = {},
): Promise<TaskPage> {
  const limit = Math.min(500, Math.max(1, Math.trunc(options.limit ?? 50)));
  const names = filter.task ? await versionsOf(pool, schema, filter.task) : undefined;
  const before = options.before ? decodeCursor(options.before) : undefined;
  const { where, params } = taskConditions(schema, filter, before, names);
  const t = tables(schema);
  params.push(limit + 1);
  const { rows } = await pool.query<Row>(
    `SELECT k.task_id, k.name, r.status, k.args, k.kwargs, k.root_id, k.parent_id, k.retries, k.created_at,
            k.created_at::text AS cursor_at, r.started_at, r.date_done AT TIME ZONE 'UTC' AS date_done, r.worker,
            r.error->>'type' AS error_type, r.error->>'message' AS error_message
       FROM ${t.tracking} k LEFT JOIN ${t.results} r ON r.task_id = k.task_id
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY k.created_at DESC, k.task_id DESC
      LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    tasks: page.map(toSummary),
    next:
      rows.length > limit && last ? encodeCursor({ at: last.cursor_at, taskId: last.task_id }) : undefined,
  };
}

const NAMED_STATES: readonly TaskState[] = ["STARTED", "PROGRESS", "RETRY", "SUCCESS", "FAILURE"];

/** The WHERE conditions of a filter (exported for the bench's EXPLAIN). */
export function taskConditions(
  schema: string,
  filter: TaskFilter,
  before: Cursor | undefined,
  /** The names `filter.task` stands for (every version of an unversioned name); default: itself. */
  taskNames?: readonly string[],
): { where: string[]; params: unknown[] } {
  const t = tables(schema);
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.service) where.push(`split_part(k.name, '.', 1) = ${param(filter.service)}`);
  const names = filter.task ? (taskNames ?? [filter.task]) : undefined;
  if (names) {
    where.push(names.length === 1 ? `k.name = ${param(names[0])}` : `k.name = ANY(${param(names)}::text[])`);
    // Rows workers write for these states always carry the name (a revocation's REVOKED row may not): saying
    // it of the result row too lets the planner start from the (status, name) index when few rows match.
    if (filter.states?.length && filter.states.every((state) => NAMED_STATES.includes(state))) {
      where.push(`r.name = ANY(${param(names)}::text[])`);
    }
  }
  if (filter.states && filter.states.length > 0) {
    where.push(
      filter.states.includes("PENDING")
        ? `COALESCE(r.status, 'PENDING') = ANY(${param(filter.states)}::text[])`
        : `r.status = ANY(${param(filter.states)}::text[])`,
    );
  }
  if (filter.since) where.push(`k.created_at >= ${param(filter.since)}`);
  if (filter.until) where.push(`k.created_at < ${param(filter.until)}`);
  if (filter.rootId) where.push(`(k.root_id = ${param(filter.rootId)} OR k.task_id = $${params.length})`);
  if (filter.groupId) where.push(`k.group_id = ${param(filter.groupId)}`);
  if (filter.arg) {
    const match = parseArgumentSearch(filter.arg);
    const leaves = `${t.argumentValues}(k.args, k.kwargs)`;
    const any = match.values.map((value) => `${leaves} @> ${param(JSON.stringify([value]))}::jsonb`);
    where.push(any.length === 1 ? any[0]! : `(${any.join(" OR ")})`);
    if (match.key) {
      const keyed = match.values.map(
        (value) => `k.kwargs @> ${param(JSON.stringify({ [match.key!]: value }))}::jsonb`,
      );
      where.push(`(${keyed.join(" OR ")})`);
    }
  }
  if (before) {
    where.push(`(k.created_at, k.task_id) < (${param(before.at)}::timestamptz, ${param(before.taskId)})`);
  }
  return { where, params };
}

function toSummary(row: Row): TaskSummary {
  return {
    taskId: row.task_id,
    name: row.name,
    status: row.status ?? "PENDING",
    args: row.args,
    kwargs: row.kwargs,
    rootId: row.root_id,
    parentId: row.parent_id,
    retries: row.retries,
    createdAt: row.created_at,
    startedAt: row.started_at,
    dateDone: row.date_done,
    worker: row.worker,
    errorType: row.error_type,
    errorMessage: row.error_message,
  };
}
