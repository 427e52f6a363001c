import { parseTaskName, type ToolboxConfig, ToolboxError, taskNameProblem } from "@worker-toolbox/config";
import { revokeTask } from "@worker-toolbox/runtime";
import type { ConfirmPublisher } from "@worker-toolbox/runtime/broker";
import {
  broadcastCommand,
  purgeDeadLetters,
  type ReplayResult,
  type ReplaySelection,
  replayDeadLetters,
} from "@worker-toolbox/runtime/ops";
import type { Replay, ResultStore } from "@worker-toolbox/runtime/results";
import type { ChannelModel } from "amqplib";
import type { Pool } from "pg";
import type { Logger } from "pino";

/**
 * What an operator can do from the dashboard, through the runtime functions the CLI uses (`revokeTask`,
 * `replayDeadLetters`, `purgeDeadLetters`): no second implementation of any of them.
 */
export interface Actions {
  revoke(taskIds: readonly string[], by: string): Promise<{ revoked: number }>;
  /**
   * Replay failed tasks from their services' dead-letter queues (a failed task's message is dead-lettered
   * beside its FAILURE row). Ids whose dead letter is gone (purged, already replayed) are reported as missing.
   */
  replayFailed(tasks: readonly { taskId: string; name: string | null }[]): Promise<ReplaySummary>;
  replayDeadLetters(service: string, selection: ReplaySelection): Promise<ReplaySummary>;
  purgeDeadLetters(service: string): Promise<{ purged: number }>;
  /**
   * Remote control of one worker, TypeScript or Celery (Celery's `app.control`): grow or shrink its pool by
   * one, or shut it down gracefully. Resolves with its reply (`{ok}` or `{error}`), undefined when it did not
   * answer within WORKER_REPLY_MS.
   */
  workerCommand(node: string, command: WorkerCommand): Promise<WorkerReply | undefined>;
  /**
   * Make one worker consume a queue too (`add_consumer`), or stop consuming one (`cancel_consumer`). The
   * worker decides: its reply says what it did or why it refused (a queue that does not exist, another
   * toolbox queue…). Undefined when it did not answer within WORKER_REPLY_MS.
   */
  queueCommand(node: string, command: QueueCommand, queue: string): Promise<WorkerReply | undefined>;
}

export const WORKER_COMMANDS = ["pool_grow", "pool_shrink", "shutdown"] as const;
export type WorkerCommand = (typeof WORKER_COMMANDS)[number];
export const QUEUE_COMMANDS = ["add_consumer", "cancel_consumer"] as const;
export type QueueCommand = (typeof QUEUE_COMMANDS)[number];
export const WORKER_REPLY_MS = 3_000;

/** What a worker answers a control command (Celery's `{ok}` / `{error}`). */
export interface WorkerReply {
  ok?: unknown;
  error?: unknown;
}

export interface ReplaySummary {
  replayed: number;
  matched: number;
  /** Ids asked for but not found among the dead letters. */
  missing: string[];
  failed: ReplayResult["failed"];
  /** The replays the broker confirmed, each with the generation its run carries (what the outcome page follows). */
  replays: Replay[];
}

export interface ActionDeps {
  config: ToolboxConfig;
  logger: Logger;
  connection: () => Promise<ChannelModel>;
  publisher: () => Promise<ConfirmPublisher>;
  store: Pick<ResultStore, "writeMany">;
  /** The result database: each replay is recorded on its task's row (a new generation, reading PENDING). */
  results?: { pool: Pool; schema: string };
}

export function createActions(deps: ActionDeps): Actions {
  const prefix = deps.config.environment.prefix;
  const replay = async (service: string, selection: ReplaySelection): Promise<ReplaySummary> => {
    const result = await replayDeadLetters(
      await deps.connection(),
      { prefix, service },
      {
        selection,
        logger: deps.logger,
        publishTimeoutMs: deps.config.producer.publishTimeoutMs,
        ...(deps.results ? { results: deps.results } : {}),
      },
    );
    for (const warning of result.warnings) deps.logger.warn(warning);
    const found = new Set(result.items.map((item) => item.taskId));
    return {
      replayed: result.replayed,
      matched: result.matched,
      missing: (selection.ids ?? []).filter((id) => !found.has(id)),
      failed: result.failed,
      replays: result.replays,
    };
  };
  const ask = async (node: string, command: string, args: Record<string, unknown>) => {
    const replies = await broadcastCommand(await deps.connection(), prefix, command, args, {
      destination: [node],
      timeoutMs: WORKER_REPLY_MS,
    });
    return replies[node] as WorkerReply | undefined;
  };
  return {
    async revoke(taskIds, by) {
      await revokeTask({
        config: deps.config,
        publisher: await deps.publisher(),
        store: deps.store,
        taskIds,
        reason: `revoked from the dashboard by ${by}`,
      });
      return { revoked: new Set(taskIds).size };
    },
    async replayFailed(tasks) {
      const byService = new Map<string, string[]>();
      const missing: string[] = [];
      for (const task of tasks) {
        if (!task.name || taskNameProblem(task.name)) {
          missing.push(task.taskId);
          continue;
        }
        const service = parseTaskName(task.name).service;
        byService.set(service, [...(byService.get(service) ?? []), task.taskId]);
      }
      const total: ReplaySummary = { replayed: 0, matched: 0, missing, failed: [], replays: [] };
      for (const [service, ids] of byService) {
        const one = await replay(service, { ids });
        total.replayed += one.replayed;
        total.matched += one.matched;
        total.missing.push(...one.missing);
        total.failed.push(...one.failed);
        total.replays.push(...one.replays);
      }
      return total;
    },
    workerCommand: (node, command) => ask(node, command, command === "shutdown" ? {} : { n: 1 }),
    // The queue alone: a worker-toolbox worker never declares (an exchange or routing key would be refused).
    queueCommand: (node, command, queue) => ask(node, command, { queue }),
    replayDeadLetters: (service, selection) => {
      if (!selection.all && !selection.reason && !selection.task && !selection.ids?.length) {
        throw new ToolboxError(
          "CONFIG_INVALID",
          "Choose dead letters to replay: some ids, a reason, or all.",
        );
      }
      return replay(service, selection);
    },
    async purgeDeadLetters(service) {
      return { purged: await purgeDeadLetters(await deps.connection(), { prefix, service }) };
    },
  };
}
