import type { Pool } from "pg";
import { tables } from "./tables.js";

/** Finished tasks of one service over the last hour and the last day. */
export interface ServiceThroughput {
  service: string;
  hour: { finished: number; failed: number; perMinute: number; failureRate: number };
  day: { finished: number; failed: number; perMinute: number; failureRate: number };
}

/** One bucket of the overview's chart. */
export interface ThroughputBucket {
  start: Date;
  succeeded: number;
  failed: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Tasks per minute and failure rate per service, from the result rows that reached SUCCESS or FAILURE in
 * the last hour and day (a retried task counts once, by its final outcome).
 */
export async function serviceThroughput(
  pool: Pool,
  schema: string,
  now = new Date(),
): Promise<ServiceThroughput[]> {
  const t = tables(schema);
  const { rows } = await pool.query(
    `SELECT split_part(r.name, '.', 1) AS service,
            count(*) FILTER (WHERE r.date_done >= ($1::timestamptz AT TIME ZONE 'UTC'))::int AS finished_hour,
            count(*) FILTER (WHERE r.status = 'FAILURE' AND r.date_done >= ($1::timestamptz AT TIME ZONE 'UTC'))::int
              AS failed_hour,
            count(*)::int AS finished_day,
            count(*) FILTER (WHERE r.status = 'FAILURE')::int AS failed_day
       FROM ${t.results} r
      WHERE r.status IN ('SUCCESS', 'FAILURE') AND r.date_done >= ($2::timestamptz AT TIME ZONE 'UTC')
      GROUP BY 1 ORDER BY 1`,
    [new Date(now.getTime() - HOUR_MS), new Date(now.getTime() - DAY_MS)],
  );
  const window = (finished: number, failed: number, minutes: number) => ({
    finished,
    failed,
    perMinute: finished / minutes,
    failureRate: finished === 0 ? 0 : failed / finished,
  });
  return rows.map((row) => ({
    service: row.service || "?",
    hour: window(row.finished_hour, row.failed_hour, 60),
    day: window(row.finished_day, row.failed_day, 24 * 60),
  }));
}

/** Succeeded and failed tasks per bucket over the last `windowMs`, oldest first, empty buckets included. */
export async function throughputSeries(
  pool: Pool,
  schema: string,
  options: { windowMs: number; buckets: number; now?: Date },
): Promise<ThroughputBucket[]> {
  const t = tables(schema);
  const end = options.now ?? new Date();
  const bucketMs = Math.max(1_000, Math.ceil(options.windowMs / options.buckets));
  const start = new Date(end.getTime() - bucketMs * options.buckets);
  const { rows } = await pool.query<{ bucket: number; succeeded: number; failed: number }>(
    `SELECT floor(extract(epoch FROM (r.date_done - ($1::timestamptz AT TIME ZONE 'UTC'))) * 1000 / $2)::int AS bucket,
            count(*) FILTER (WHERE r.status = 'SUCCESS')::int AS succeeded,
            count(*) FILTER (WHERE r.status = 'FAILURE')::int AS failed
       FROM ${t.results} r
      WHERE r.status IN ('SUCCESS', 'FAILURE') AND r.date_done >= ($1::timestamptz AT TIME ZONE 'UTC')
      GROUP BY 1`,
    [start, bucketMs],
  );
  const series: ThroughputBucket[] = Array.from({ length: options.buckets }, (_, index) => ({
    start: new Date(start.getTime() + index * bucketMs),
    succeeded: 0,
    failed: 0,
  }));
  for (const row of rows) {
    const bucket = series[Math.min(options.buckets - 1, row.bucket)];
    if (!bucket) continue;
    bucket.succeeded += row.succeeded;
    bucket.failed += row.failed;
  }
  return series;
}
