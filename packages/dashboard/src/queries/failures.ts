import type { Pool } from "pg";
import { tables } from "./tables.js";

/** Failures of one task with one error class and message, in a time window. */
export interface FailureGroup {
  task: string;
  errorType: string;
  errorMessage: string;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
  /** The latest failed task of the group. */
  sampleTaskId: string;
}

export interface FailureGroupKey {
  task: string;
  errorType: string;
  errorMessage: string;
}

// Rows Celery (Python) wrote have no error JSON, only a traceback: its last line names the exception.
const ERROR_TYPE = `COALESCE(r.error->>'type', substring(r.traceback from '([A-Za-z_][A-Za-z0-9_.]*)(?::[^\\n]*)?\\n*$'), 'unknown')`;
const ERROR_MESSAGE = `left(COALESCE(r.error->>'message', substring(r.traceback from ':\\s*([^\\n]*)\\n*$'), ''), 300)`;
const TASK = `COALESCE(r.name, '?')`;

/**
 * FAILURE rows finished since `since`, grouped by task name, error class and message (the first 300
 * characters), biggest groups first. Uses the (status, date_done) index of sql/000002.sql.
 */
export async function failureGroups(
  pool: Pool,
  schema: string,
  options: { since: Date; service?: string; limit?: number },
): Promise<FailureGroup[]> {
  const t = tables(schema);
  const params: unknown[] = [options.since, options.limit ?? 100];
  const service = options.service ? `AND split_part(r.name, '.', 1) = $${params.push(options.service)}` : "";
  const { rows } = await pool.query(
    `SELECT ${TASK} AS task, ${ERROR_TYPE} AS error_type, ${ERROR_MESSAGE} AS error_message, count(*)::int AS count,
            min(r.date_done) AT TIME ZONE 'UTC' AS first_seen, max(r.date_done) AT TIME ZONE 'UTC' AS last_seen,
            (max(ARRAY[to_char(r.date_done, 'YYYYMMDDHH24MISSUS'), r.task_id]))[2] AS sample
       FROM ${t.results} r
      WHERE r.status = 'FAILURE' AND r.date_done >= ($1::timestamptz AT TIME ZONE 'UTC') ${service}
      GROUP BY 1, 2, 3
      ORDER BY count(*) DESC, max(r.date_done) DESC
      LIMIT $2`,
    params,
  );
  return rows.map((row) => ({
    task: row.task,
    errorType: row.error_type,
    errorMessage: row.error_message,
    count: row.count,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    sampleTaskId: row.sample,
  }));
}

/** The ids of a group's failed tasks (newest first, at most `limit`): what "replay all" replays. */
export async function failureGroupTaskIds(
  pool: Pool,
  schema: string,
  key: FailureGroupKey,
  options: { since: Date; limit?: number },
): Promise<string[]> {
  const t = tables(schema);
  const { rows } = await pool.query<{ task_id: string }>(
    `SELECT r.task_id FROM ${t.results} r
      WHERE r.status = 'FAILURE' AND r.date_done >= ($1::timestamptz AT TIME ZONE 'UTC')
        AND ${TASK} = $2 AND ${ERROR_TYPE} = $3 AND ${ERROR_MESSAGE} = $4
      ORDER BY r.date_done DESC LIMIT $5`,
    [options.since, key.task, key.errorType, key.errorMessage, options.limit ?? 10_000],
  );
  return rows.map((row) => row.task_id);
}
