import type { Pool } from "pg";
import { withDbErrors } from "./dbErrors.js";
import { resultTables } from "./sqlNames.js";

export interface PruneOptions {
  /** Delete what finished (or, for tracking rows without a result, was last updated) longer ago. */
  olderThanMs: number;
  /** Rows per DELETE statement, so locks and WAL bursts stay small; default 1000. */
  batchSize?: number;
  onProgress?: (progress: PruneCounts) => void;
  /**
   * Called once before deleting, with how many finished results are past the cut-off (one count query,
   * only run when this is given): the total a progress bar needs.
   */
  onStart?: (total: { results: number }) => void;
}

export interface PruneCounts {
  /** Finished result rows deleted (SUCCESS, FAILURE, REVOKED). */
  results: number;
  /** Tracking rows deleted: those of the pruned results, plus old ones that never got a result. */
  tracking: number;
}

/**
 * Delete old finished results with their state history and tracking rows, batch by batch (each batch its own
 * transaction), until nothing old is left. Unfinished results are never touched; a tracking
 * row without any result (ignore_result tasks, lost tasks) goes once its `updated_at` and `eta`
 * are both past the cutoff.
 */
export async function pruneResults(pool: Pool, schema: string, options: PruneOptions): Promise<PruneCounts> {
  const t = resultTables(schema);
  const batchSize = options.batchSize ?? 1000;
  if (!(batchSize > 0) || !(options.olderThanMs >= 0)) {
    throw new RangeError("pruneResults: batchSize must be > 0 and olderThanMs >= 0");
  }
  const counts: PruneCounts = { results: 0, tracking: 0 };
  return withDbErrors(pool, schema, "prune old results", async () => {
    // One cutoff for the whole run, so rows finishing meanwhile do not keep it going.
    const { rows } = await pool.query<{ cutoff: Date }>(
      "SELECT now() - make_interval(secs => $1::float8 / 1000) AS cutoff",
      [options.olderThanMs],
    );
    const cutoff = rows[0]!.cutoff;
    if (options.onStart) {
      const { rows: total } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${t.results}
          WHERE status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND date_done < ($1::timestamptz AT TIME ZONE 'UTC')`,
        [cutoff],
      );
      options.onStart({ results: total[0]!.n });
    }
    for (;;) {
      const { rows: batch } = await pool.query<{ results: number; tracking: number }>(
        `WITH doomed AS (
           SELECT id, task_id FROM ${t.results}
            WHERE status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND date_done < ($1::timestamptz AT TIME ZONE 'UTC')
            ORDER BY date_done LIMIT $2 FOR UPDATE SKIP LOCKED
         ), gone AS (
           DELETE FROM ${t.results} r USING doomed d WHERE r.id = d.id RETURNING r.task_id
         ), gone_states AS (
           DELETE FROM ${t.states} s USING gone g WHERE s.task_id = g.task_id
         ), gone_tracking AS (
           DELETE FROM ${t.tracking} k USING gone g WHERE k.task_id = g.task_id RETURNING 1
         )
         SELECT (SELECT count(*) FROM gone)::int AS results, (SELECT count(*) FROM gone_tracking)::int AS tracking`,
        [cutoff, batchSize],
      );
      const b = batch[0]!;
      counts.results += b.results;
      counts.tracking += b.tracking;
      if (b.results > 0) options.onProgress?.({ ...counts });
      if (b.results < batchSize) break;
    }
    await pool.query(`DELETE FROM ${t.failureCounts} WHERE last_seen < $1`, [cutoff]);
    for (;;) {
      const { rowCount } = await pool.query(
        `DELETE FROM ${t.tracking} WHERE task_id IN (
           SELECT k.task_id FROM ${t.tracking} k
            WHERE k.updated_at < $1 AND (k.eta IS NULL OR k.eta < $1)
              AND NOT EXISTS (SELECT 1 FROM ${t.results} r WHERE r.task_id = k.task_id)
            LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [cutoff, batchSize],
      );
      counts.tracking += rowCount ?? 0;
      if ((rowCount ?? 0) > 0) options.onProgress?.({ ...counts });
      if ((rowCount ?? 0) < batchSize) break;
    }
    return counts;
  });
}
