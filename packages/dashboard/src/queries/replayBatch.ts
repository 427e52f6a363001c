import { type Replay, replayOutcomes } from "@worker-toolbox/runtime/results";
import type { Pool } from "pg";
import { tables } from "./tables.js";

/** The most replays one outcome page follows (they travel in its address); the rest: Failures, Replays. */
export const REPLAY_PAGE_LIMIT = 100;

export type ReplayOutcome = "succeeded" | "failedAgain" | "running";

export interface ReplayedTask {
  taskId: string;
  name: string | null;
  /** The replay's run: the generation its copy carries. */
  generation: number;
  outcome: ReplayOutcome;
  /** The row's status once it belongs to the replay's run; PENDING before. */
  status: string;
  finishedAt: Date | null;
}

export interface ReplayBatch {
  tasks: ReplayedTask[];
  succeeded: number;
  failedAgain: number;
  running: number;
}

/**
 * What became of a batch of replays (the dashboard's answer to `dlq replay --wait`): each task's outcome as
 * `replayOutcomes` judges it for the CLI, with its name, status and finishing time for the page.
 */
export async function replayBatch(
  pool: Pool,
  schema: string,
  replays: readonly Replay[],
): Promise<ReplayBatch> {
  const t = tables(schema);
  const ids = replays.map((replay) => replay.taskId);
  const [outcomes, { rows }] = await Promise.all([
    replayOutcomes(pool, schema, replays),
    pool.query<{ task_id: string; name: string | null; status: string | null; date_done: Date | null }>(
      `SELECT r.task_id, COALESCE(r.name, k.name) AS name, r.status, r.date_done FROM ${t.results} r
         LEFT JOIN ${t.tracking} k ON k.task_id = r.task_id WHERE r.task_id = ANY($1::text[])`,
      [ids],
    ),
  ]);
  const outcomeOf = new Map<string, ReplayOutcome>();
  for (const key of ["succeeded", "failedAgain", "running"] as const)
    for (const id of outcomes[key]) outcomeOf.set(id, key);
  const byId = new Map(rows.map((row) => [row.task_id, row] as const));
  const tasks = replays.map((replay): ReplayedTask => {
    const row = byId.get(replay.taskId);
    const outcome = outcomeOf.get(replay.taskId) ?? "running";
    const finished = outcome !== "running";
    return {
      taskId: replay.taskId,
      name: row?.name ?? null,
      generation: replay.generation,
      outcome,
      status: finished ? (row?.status ?? "PENDING") : runningStatus(row?.status),
      finishedAt: finished ? (row?.date_done ?? null) : null,
    };
  });
  return {
    tasks,
    succeeded: outcomes.succeeded.length,
    failedAgain: outcomes.failedAgain.length,
    running: outcomes.running.length,
  };
}

/** A run not finished: STARTED, RETRY or PROGRESS once the replay's worker reported it, else PENDING. */
const runningStatus = (status: string | null | undefined) =>
  status === "STARTED" || status === "RETRY" || status === "PROGRESS" ? status : "PENDING";

/** The page's address part for `replays`: `r=<task id>.<generation>` each (the first REPLAY_PAGE_LIMIT). */
export function replaysQuery(replays: readonly Replay[]): string {
  return replays
    .slice(0, REPLAY_PAGE_LIMIT)
    .map((replay) => `r=${encodeURIComponent(`${replay.taskId}.${replay.generation}`)}`)
    .join("&");
}

/** The replays named in the page's address (`r` values); malformed ones are left out. */
export function parseReplays(values: readonly string[]): Replay[] {
  const replays: Replay[] = [];
  for (const value of values.slice(0, REPLAY_PAGE_LIMIT)) {
    const dot = value.lastIndexOf(".");
    const generation = Number(value.slice(dot + 1));
    if (dot > 0 && Number.isInteger(generation) && generation > 0)
      replays.push({ taskId: value.slice(0, dot), generation });
  }
  return replays;
}
