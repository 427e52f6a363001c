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

/**
 * Failures since `since` grouped by task name, error class and message (its first 300 characters), biggest
 * groups first. Reads the hourly counters the results triggers keep (sql/000002.sql), so a week of 100,000
 * failures costs a few hundred rows: a window includes the whole hour it starts in.
 */
export async function failureGroups(
  pool: Pool,
  schema: string,
  options: { since: Date; service?: string; limit?: number },
): Promise<FailureGroup[]> {
  const t = tables(schema);
  const params: unknown[] = [options.since, options.limit ?? 100];
  const service = options.service ? `AND split_part(f.name, '.', 1) = $${params.push(options.service)}` : "";
  const { rows } = await pool.query(
    `SELECT f.name AS task, f.error_type, f.error_message, sum(f.failures)::int AS count,
            min(f.first_seen) AS first_seen, max(f.last_seen) AS last_seen,
            (array_agg(f.sample_task_id ORDER BY f.last_seen DESC))[1] AS sample
       FROM ${t.failureCounts} f
      WHERE f.hour >= date_trunc('hour', $1::timestamptz) ${service}
      GROUP BY 1, 2, 3
      ORDER BY sum(f.failures) DESC, max(f.last_seen) DESC
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
      WHERE r.status = 'FAILURE' AND r.date_done >= (date_trunc('hour', $1::timestamptz) AT TIME ZONE 'UTC')
        AND COALESCE(r.name, '?') = $2
        AND ${t.schema}.worker_toolbox_error_type(r.error, r.traceback) = $3
        AND ${t.schema}.worker_toolbox_error_message(r.error, r.traceback) = $4
      ORDER BY r.date_done DESC LIMIT $5`,
    [options.since, key.task, key.errorType, key.errorMessage, options.limit ?? 10_000],
  );
  return rows.map((row) => row.task_id);
}
