import type { Pool } from "pg";
import { withDbErrors } from "./dbErrors.js";
import { resultTables } from "./sqlNames.js";

/**
 * The database half of `worker-toolbox audit`: every task the tracker recorded in a window, put in exactly
 * one category by its result row, plus the results that have no tracking row at all. The broker half (what
 * still waits in queues) is in ops/audit.ts; this module only reads.
 *
 *   finished            a final row (SUCCESS, FAILURE, REVOKED)
 *   dead-lettered       no final row, and its id is in a dead-letter queue (`deadLetteredIds`)
 *   no-result-expected  sent with ignore_result and no row (a success is never stored)
 *   in-flight           no final row yet, but its deadline has not passed
 *   overdue             no final row and the deadline has passed: lost, or still waiting in a queue
 *
 * A task's deadline is the latest of its scheduling time, last tracking update (a retry), eta, the eta of
 * its RETRY row and its last replay (`replayed_at`), plus `graceMs`.
 */
export type AuditCategory = "finished" | "dead-lettered" | "no-result-expected" | "in-flight" | "overdue";

export interface AuditQuery {
  /** Tasks scheduled (tracking rows created) at or after this instant. */
  since: Date;
  /** How long past its due time a task may take before it counts as overdue. */
  graceMs: number;
  /** Task ids found in the services' dead-letter queues. */
  deadLetteredIds?: readonly string[];
  /** How many of the oldest ids to keep per group (default 5). */
  idsPerGroup?: number;
}

/** One (task name, category) cell of the reconciliation. */
export interface AuditGroup {
  task: string;
  category: AuditCategory;
  count: number;
  /** How many have which stored status; `none` when a task has no result row. */
  states: Record<string, number>;
  /** When the oldest task of the group was scheduled. */
  oldestAt: Date;
  /** The oldest task ids, oldest first. */
  oldestIds: string[];
}

/** Final results in the window without any tracking row: published around the task exchange. */
export interface UntrackedGroup {
  task: string | null;
  count: number;
  states: Record<string, number>;
  oldestAt: Date;
  oldestIds: string[];
}

export interface AuditRows {
  /** The database's clock when the query ran: the audit's "now". */
  at: Date;
  groups: AuditGroup[];
  untracked: UntrackedGroup[];
}

/** The window's start on the database's clock, and every service with a task scheduled in it. */
export async function auditWindow(
  pool: Pool,
  schema: string,
  sinceMs: number,
): Promise<{ since: Date; services: string[] }> {
  const t = resultTables(schema);
  return withDbErrors(pool, schema, "read the audit window", async () => {
    const { rows } = await pool.query<{ since: Date }>(
      "SELECT now() - make_interval(secs => $1::float8 / 1000) AS since",
      [sinceMs],
    );
    const since = rows[0]!.since;
    const { rows: services } = await pool.query<{ service: string }>(
      `SELECT DISTINCT split_part(name, '.', 1) AS service FROM ${t.tracking}
        WHERE created_at >= $1 AND name ~ '^[a-z][a-z0-9-]*\\.' ORDER BY 1`,
      [since],
    );
    return { since, services: services.map((row) => row.service) };
  });
}

export async function auditRows(pool: Pool, schema: string, query: AuditQuery): Promise<AuditRows> {
  const t = resultTables(schema);
  const ids = Math.max(1, query.idsPerGroup ?? 5);
  return withDbErrors(pool, schema, "reconcile tracking rows with results", async () => {
    const { rows: clock } = await pool.query<{ at: Date }>("SELECT now() AS at");
    const at = clock[0]!.at;
    const grace = query.graceMs / 1_000;
    const { rows: groups } = await pool.query<{
      task: string;
      category: AuditCategory;
      count: number;
      states: Record<string, number>;
      oldest_at: Date;
      oldest_ids: string[];
    }>(
      `WITH scheduled AS (
         SELECT k.task_id, k.name, k.created_at, k.ignore_result, r.status,
                GREATEST(k.created_at, k.updated_at, k.eta, r.replayed_at,
                         CASE WHEN r.status = 'RETRY' THEN (r.error->>'eta')::timestamptz END)
                  + make_interval(secs => $2) AS deadline
           FROM ${t.tracking} k LEFT JOIN ${t.results} r ON r.task_id = k.task_id
          WHERE k.created_at >= $1
       ), classified AS (
         SELECT task_id, name, created_at, COALESCE(status, 'none') AS status,
                CASE WHEN status IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN 'finished'
                     WHEN task_id = ANY($3::text[]) THEN 'dead-lettered'
                     WHEN ignore_result AND status IS NULL THEN 'no-result-expected'
                     WHEN deadline > $5 THEN 'in-flight'
                     ELSE 'overdue' END AS category,
                row_number() OVER (PARTITION BY name ORDER BY created_at, task_id) AS rank
           FROM scheduled
       ), by_status AS (
         SELECT name, category, jsonb_object_agg(status, n) AS states
           FROM (SELECT name, category, status, count(*)::int AS n FROM classified GROUP BY 1, 2, 3) s
          GROUP BY name, category
       )
       SELECT c.name AS task, c.category, count(*)::int AS count, b.states, min(c.created_at) AS oldest_at,
              (array_agg(c.task_id ORDER BY c.rank))[1:$4] AS oldest_ids
         FROM classified c JOIN by_status b ON b.name = c.name AND b.category = c.category
        GROUP BY c.name, c.category, b.states
        ORDER BY c.name, c.category`,
      [query.since, grace, [...(query.deadLetteredIds ?? [])], ids, at],
    );
    // Results finish after their tracking row is written; a result younger than the grace may still be
    // waiting for the tracker, so only older ones count as untracked.
    const { rows: untracked } = await pool.query<{
      task: string | null;
      count: number;
      states: Record<string, number>;
      oldest_at: Date;
      oldest_ids: string[];
    }>(
      `WITH untracked AS (
         SELECT r.task_id, COALESCE(r.name, '') AS name, r.status, r.date_done
           FROM ${t.results} r
          WHERE r.date_done >= ($1::timestamptz AT TIME ZONE 'UTC')
            AND r.date_done < (($4::timestamptz - make_interval(secs => $2)) AT TIME ZONE 'UTC')
            AND r.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
            AND NOT EXISTS (SELECT 1 FROM ${t.tracking} k WHERE k.task_id = r.task_id)
       ), by_status AS (
         SELECT name, jsonb_object_agg(status, n) AS states
           FROM (SELECT name, status, count(*)::int AS n FROM untracked GROUP BY 1, 2) s
          GROUP BY name
       )
       SELECT NULLIF(u.name, '') AS task, count(*)::int AS count, b.states,
              min(u.date_done) AT TIME ZONE 'UTC' AS oldest_at,
              (array_agg(u.task_id ORDER BY u.date_done, u.task_id))[1:$3] AS oldest_ids
         FROM untracked u JOIN by_status b ON b.name = u.name
        GROUP BY u.name, b.states
        ORDER BY u.name`,
      [query.since, grace, ids, at],
    );
    return {
      at,
      groups: groups.map((row) => ({
        task: row.task,
        category: row.category,
        count: row.count,
        states: row.states,
        oldestAt: row.oldest_at,
        oldestIds: row.oldest_ids,
      })),
      untracked: untracked.map((row) => ({
        task: row.task,
        count: row.count,
        states: row.states,
        oldestAt: row.oldest_at,
        oldestIds: row.oldest_ids,
      })),
    };
  });
}
