import { getTask, type StoredResult, type TaskState, type TaskView } from "@worker-toolbox/runtime";
import { rootTraceId } from "@worker-toolbox/runtime/protocol";
import type { Pool } from "pg";
import { tables } from "./tables.js";

/** One state a task went through (from the history the triggers of sql/000002.sql keep). */
export interface StateChange {
  status: TaskState;
  at: Date;
  retries: number | null;
  worker: string | null;
  /** PROGRESS: the progress meta. */
  meta: unknown;
  /** RETRY / FAILURE: the error. */
  error: { type?: string; message?: string } | null;
  /** Which run of the task the state belongs to: 0 the original, n the n-th replay (sql/000004.sql). */
  generation: number;
}

/** A member of the task's family, for the tree. */
export interface FamilyMember {
  taskId: string;
  name: string | null;
  status: TaskState;
  parentId: string | null;
  createdAt: Date | null;
}

export interface TaskDetail extends TaskView {
  /** Every state with its time, oldest first, the current one last (only that one for rows stored once). */
  states: StateChange[];
  rootId: string;
  parentId: string | null;
  /** The W3C trace id workers log and propagate for this family (derived from the root id). */
  traceId: string | undefined;
  /** The family (root, ancestors, siblings, children, …), at most FAMILY_LIMIT members. */
  family: FamilyMember[];
  familyTruncated: boolean;
  /** True when neither a tracking row nor a result row exists. */
  unknown: boolean;
}

export const FAMILY_LIMIT = 500;

/** Everything the task view shows, in four indexed reads that run in parallel. */
export async function getTaskDetail(pool: Pool, schema: string, taskId: string): Promise<TaskDetail> {
  const t = tables(schema);
  const [view, states] = await Promise.all([
    getTask(pool, schema, taskId),
    pool.query(
      `SELECT status, at, retries, worker, meta, error, generation FROM ${t.states} WHERE task_id = $1 ORDER BY id LIMIT 1000`,
      [taskId],
    ),
  ]);
  const rootId = view.tracking?.rootId ?? view.result?.rootId ?? taskId;
  const parentId = view.tracking?.parentId ?? view.result?.parentId ?? null;
  const family = await familyOf(pool, schema, rootId);
  return {
    ...view,
    states: [...states.rows.map(stateFromRow), ...(view.result ? [currentState(view.result)] : [])],
    rootId,
    parentId,
    traceId: rootTraceId(rootId),
    family: family.slice(0, FAMILY_LIMIT),
    familyTruncated: family.length > FAMILY_LIMIT,
    unknown: view.tracking === null && view.result === null,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: a raw pg row
function stateFromRow(row: any): StateChange {
  return {
    status: row.status,
    at: row.at,
    retries: row.retries,
    worker: row.worker,
    meta: row.meta,
    error: row.error,
    generation: row.generation,
  };
}

/** The history table keeps the states a task left; its current one is the result row itself. */
function currentState(result: StoredResult): StateChange {
  return {
    status: result.status,
    at: result.updatedAt ?? result.dateDone ?? result.startedAt ?? new Date(0),
    retries: result.retries,
    worker: result.worker,
    meta: result.status === "PROGRESS" ? result.meta : null,
    error: result.error,
    generation: result.generation,
  };
}

/** Tasks sharing `rootId`, from both tables (a result may exist without a tracking row and the reverse). */
async function familyOf(pool: Pool, schema: string, rootId: string): Promise<FamilyMember[]> {
  const t = tables(schema);
  const { rows } = await pool.query(
    `WITH tracked AS (
       SELECT task_id, name, parent_id, created_at FROM ${t.tracking}
        WHERE root_id = $1 OR task_id = $1 ORDER BY created_at LIMIT $2
     ), stored AS (
       -- Three indexed reads (an OR across them would scan the whole table).
       (SELECT task_id, name, parent_id, status FROM ${t.results} WHERE root_id = $1 LIMIT $2)
       UNION
       (SELECT r.task_id, r.name, r.parent_id, r.status FROM ${t.results} r JOIN tracked k ON k.task_id = r.task_id)
       UNION
       (SELECT task_id, name, parent_id, status FROM ${t.results} WHERE task_id = $1)
     )
     SELECT COALESCE(k.task_id, r.task_id) AS task_id, COALESCE(k.name, r.name) AS name,
            COALESCE(k.parent_id, r.parent_id) AS parent_id, COALESCE(r.status, 'PENDING') AS status, k.created_at
       FROM tracked k FULL JOIN stored r ON r.task_id = k.task_id
      ORDER BY (COALESCE(k.task_id, r.task_id) = $1) DESC, k.created_at NULLS LAST, 1`,
    [rootId, FAMILY_LIMIT + 1],
  );
  return rows
    .filter((row) => row.name !== "celery.chord_unlock")
    .map((row) => ({
      taskId: row.task_id,
      name: row.name,
      status: row.status,
      parentId: row.parent_id === row.task_id ? null : row.parent_id,
      createdAt: row.created_at,
    }));
}
