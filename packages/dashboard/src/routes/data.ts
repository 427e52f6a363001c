import { entityNames } from "@worker-toolbox/config";
import { type RecentReplays, replaysSince } from "@worker-toolbox/runtime/results";
import { WORKER_REPLY_MS } from "../actions.js";
import type { DashboardServices } from "../createDashboard.js";
import type { OverviewData } from "../pages/overview.js";
import type { WorkerPageData } from "../pages/worker.js";
import {
  durationMs,
  type FailureGroup,
  failureGroups,
  listTaskNames,
  serviceThroughput,
  throughputSeries,
} from "../queries/index.js";
import { tables } from "../queries/tables.js";
import { type VersionSkew, versionSkew, type WorkerInfo } from "../workers/workerRegistry.js";
import { ownQueue } from "./workerPlans.js";

/** The data behind each page, shared by the HTML pages and the JSON API. */

export async function overviewData(services: DashboardServices): Promise<OverviewData> {
  const { pool, schema } = services;
  const [broker, throughput, series] = await Promise.all([
    services.broker.snapshot(),
    serviceThroughput(pool, schema),
    throughputSeries(pool, schema, { windowMs: 3_600_000, buckets: 60 }),
  ]);
  const deadLetters = broker.error ? [] : await services.broker.deadLetterSummaries().catch(() => []);
  return { broker, throughput, series, deadLetters };
}

const windowStart = (window: string) => new Date(Date.now() - (durationMs(window) ?? 86_400_000));

export function failuresSince(services: DashboardServices, window: string): Promise<FailureGroup[]> {
  return failureGroups(services.pool, services.schema, { since: windowStart(window) });
}

/** What became of the tasks replayed in the window (the dashboard's and `dlq replay`'s alike). */
export function replaysWithin(services: DashboardServices, window: string): Promise<RecentReplays> {
  return replaysSince(services.pool, services.schema, { since: windowStart(window) });
}

export async function workersData(
  services: DashboardServices,
): Promise<{ workers: WorkerInfo[]; skew: VersionSkew; eventExchange: string }> {
  const workers = services.workers.list();
  const recent = await recentTaskNames(services, Date.now() - 86_400_000);
  return {
    workers,
    skew: versionSkew(workers, recent),
    eventExchange: entityNames(services.config.environment.prefix).eventExchange,
  };
}

/**
 * One worker's page: its last heartbeat and, unless it is known to be offline, its queues as it answers
 * them. A worker never heard is asked too (events may be off); undefined when it neither sent a heartbeat
 * nor answered.
 */
export async function workerData(
  services: DashboardServices,
  node: string,
): Promise<WorkerPageData | undefined> {
  const worker = services.workers.get(node);
  const queues = worker?.online === false ? undefined : await services.workerQueues(node);
  if (!worker && !queues?.answered) return undefined;
  return { node, worker, queues, own: ownQueue(services, node, queues), replyMs: WORKER_REPLY_MS };
}

/** Task names scheduled since `since`: one indexed probe per distinct name. */
async function recentTaskNames(services: DashboardServices, since: number): Promise<string[]> {
  const names = await listTaskNames(services.pool, services.schema);
  if (names.length === 0) return [];
  const t = tables(services.schema);
  const { rows } = await services.pool.query<{ name: string }>(
    `SELECT n.name FROM unnest($1::text[]) AS n(name)
      WHERE EXISTS (SELECT 1 FROM ${t.tracking} k WHERE k.name = n.name AND k.created_at >= $2)`,
    [names, new Date(since)],
  );
  return rows.map((row) => row.name);
}
