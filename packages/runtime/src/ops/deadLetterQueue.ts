import { entityNames, PLATFORM_DEAD_LETTER_KEY, ToolboxError } from "@worker-toolbox/config";
import type { Channel, ChannelModel, GetMessage } from "amqplib";
import type { Pool } from "pg";
import type { Logger } from "pino";
import { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { isNotFound, withThrowawayChannel } from "../broker/throwawayChannel.js";
import { readGeneration } from "../protocol/envelope.js";
import type { Replay } from "../results/replays.js";
import { type DeadLetterInfo, describeDeadLetter } from "./deadLetterInfo.js";
import { replayRequest } from "./replayMessage.js";
import { createReplayRecorder } from "./replayRecorder.js";

/**
 * Inspect, replay and purge a service's dead-letter queue (`<prefix>.<service>.dead`).
 *
 * Reading without consuming: quorum and classic queues cannot be browsed, so messages are taken with
 * `basic.get` (manual ack) on a channel of their own, held until the listing is complete (otherwise `get`
 * would return the same head message again), then handed back with `basic.nack(requeue)` and the channel
 * closed. The management API's "get messages" was not used: it requeues with `basic.reject`, which from
 * RabbitMQ 4.3 counts as a failed delivery, and it needs the API. Side effects of a listing: the
 * messages' redelivered flag is set, and on quorum queues before RabbitMQ 4.3 every return increments
 * `x-delivery-count` (RabbitMQ 4.0-4.2 drop a message past their default delivery limit of 20 when the
 * queue has none set; see docs/operations.md).
 *
 * Replay copies before it removes: each matching message is published to the task exchange on a confirm
 * channel, and acknowledged off the dead-letter queue only after the broker confirmed the copy. A crash
 * at any point returns every unacknowledged message to the dead-letter queue; the worst case is a task
 * both replayed and still dead-lettered (a duplicate), which idempotent result writes keyed on task id
 * absorb.
 */
export interface DeadLetterQueueRef {
  prefix: string;
  service: string;
}

export function deadLetterQueueName(ref: DeadLetterQueueRef): string {
  return entityNames(ref.prefix).serviceDeadLetterQueue(ref.service);
}

export interface DeadLetterListing {
  queue: string;
  /** Messages in the queue when the listing started (ready ones). */
  total: number;
  messages: DeadLetterInfo[];
}

/** Up to `limit` dead letters, head first, all returned to the queue afterwards. */
export async function listDeadLetters(
  connection: ChannelModel,
  ref: DeadLetterQueueRef,
  options: { limit?: number; now?: number; onProgress?: (taken: number, total: number) => void } = {},
): Promise<DeadLetterListing> {
  const queue = deadLetterQueueName(ref);
  const limit = options.limit ?? 50;
  return withDeadLetterChannel(connection, queue, async (channel, total) => {
    const messages: DeadLetterInfo[] = [];
    const taken: GetMessage[] = [];
    try {
      while (messages.length < Math.min(limit, total)) {
        const message = await channel.get(queue, { noAck: false });
        if (!message) break;
        taken.push(message);
        messages.push(describeDeadLetter(message, options.now));
        options.onProgress?.(messages.length, Math.min(limit, total));
      }
    } finally {
      for (const message of taken) channel.nack(message, false, true);
    }
    return { queue, total, messages };
  });
}

export interface ReplaySelection {
  /** Replay these task ids. */
  ids?: readonly string[];
  /** Replay tasks with this exact name. */
  task?: string;
  /** Replay every dead letter with this reason (`retries-exhausted`, or the broker's `delivery_limit`…). */
  reason?: string;
  /** Replay everything. */
  all?: boolean;
}

export interface ReplayProgress {
  total: number;
  examined: number;
  matched: number;
  replayed: number;
}

export interface ReplayOptions {
  selection: ReplaySelection;
  logger: Logger;
  /** Deadline for each publish confirm. */
  publishTimeoutMs: number;
  /** Only report what would be replayed; every message goes back. */
  dryRun?: boolean;
  /** Publishes awaiting their confirm at once (default 100). */
  concurrency?: number;
  /** Messages per second at most (default unlimited), so a big replay does not swamp the workers. */
  ratePerSecond?: number;
  onProgress?: (progress: ReplayProgress) => void;
  signal?: AbortSignal;
  /**
   * The result database. Each replayed task starts a new generation (docs/results.md): with this, the
   * replay is recorded on the task's row as soon as its copy is confirmed (the earlier outcome moves to the
   * row's history, the row reads PENDING). Without it the replayed run records it when it stores its outcome.
   */
  results?: { pool: Pool; schema: string };
}

export interface ReplayResult extends ReplayProgress {
  queue: string;
  dryRun: boolean;
  /** Matching messages that could not be replayed and went back to the dead-letter queue. */
  failed: { taskId: string | undefined; task: string | undefined; error: string }[];
  /** What matched (dry run: would be replayed), at most 1000 entries. */
  items: DeadLetterInfo[];
  /** Every replayed task with the generation its copy carries (service dead letters), for waitForReplays. */
  replays: Replay[];
  /** Bookkeeping that failed without failing the replay (recording on the result rows). */
  warnings: string[];
}

export async function replayDeadLetters(
  connection: ChannelModel,
  ref: DeadLetterQueueRef,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const select = options.selection;
  if (!select.all && !select.task && !select.reason && (!select.ids || select.ids.length === 0)) {
    throw new ToolboxError(
      "CONFIG_INVALID",
      "A replay needs a selection: ids, a task name, a reason, or all.",
      {
        hint: "pass --id <task id> (repeatable), --task <name>, --reason <reason> or --all",
      },
    );
  }
  const ids = new Set(select.ids ?? []);
  const matches = (info: DeadLetterInfo) =>
    select.all === true ||
    (info.taskId !== undefined && ids.has(info.taskId)) ||
    (select.task !== undefined && info.task === select.task) ||
    (select.reason !== undefined && info.reason === select.reason);
  const names = entityNames(ref.prefix);
  // The platform's dead letters are tracking copies: straight back to the platform queue, or the task
  // would run again.
  const target =
    ref.service === PLATFORM_DEAD_LETTER_KEY
      ? { exchange: "", routingKey: names.platformQueue }
      : { exchange: names.exchange };
  const queue = deadLetterQueueName(ref);
  const dryRun = options.dryRun === true;

  return withDeadLetterChannel(connection, queue, async (channel, total) => {
    const result: ReplayResult = {
      queue,
      dryRun,
      total,
      examined: 0,
      matched: 0,
      replayed: 0,
      failed: [],
      items: [],
      replays: [],
      warnings: [],
    };
    // Service dead letters start a new generation of their task; the platform's are tracking copies.
    const recorder = createReplayRecorder(options.results);
    const startsGeneration = ref.service !== PLATFORM_DEAD_LETTER_KEY;
    const publisher = new ConfirmPublisher({
      logger: options.logger,
      deadlineMs: options.publishTimeoutMs,
      name: "dlq-replay",
    });
    if (!dryRun) await publisher.attach(connection);
    const held: GetMessage[] = [];
    const inFlight = new Set<Promise<void>>();
    const concurrency = Math.max(1, options.concurrency ?? 100);
    const started = Date.now();
    let stop = false;
    const report = () =>
      options.onProgress?.({
        total,
        examined: result.examined,
        matched: result.matched,
        replayed: result.replayed,
      });
    try {
      // Each message is examined once: those not replayed stay unacknowledged until the end, so `get`
      // moves on to the next one instead of returning them again.
      while (result.examined < total && !stop && !options.signal?.aborted) {
        if (options.ratePerSecond) {
          const due = started + (result.examined / options.ratePerSecond) * 1_000;
          if (due > Date.now()) await sleep(due - Date.now());
        }
        const message = await channel.get(queue, { noAck: false });
        if (!message) break;
        result.examined++;
        const info = describeDeadLetter(message);
        if (!matches(info)) {
          held.push(message);
          continue;
        }
        result.matched++;
        if (result.items.length < 1_000) result.items.push(info);
        const generation = startsGeneration ? readGeneration(message.properties.headers) + 1 : undefined;
        const request = dryRun ? undefined : replayRequest(message, target, Date.now(), generation);
        if (dryRun || !request) {
          if (!dryRun) {
            result.failed.push({
              taskId: info.taskId,
              task: info.task,
              error: "no routing key to replay to",
            });
          }
          held.push(message);
          continue;
        }
        const publish = publisher.publish(request).then(
          () => {
            // Only now, with the copy confirmed by the broker, does the dead letter go.
            channel.ack(message);
            result.replayed++;
            if (info.taskId && generation !== undefined) recorder.add({ taskId: info.taskId, generation });
            report();
          },
          (error: Error) => {
            channel.nack(message, false, true);
            result.failed.push({
              taskId: info.taskId,
              task: info.task,
              error: error.message.split("\n")[0] ?? "",
            });
            // Unroutable, nacked, connection lost: the next publish would fail the same way.
            stop = true;
          },
        );
        inFlight.add(publish);
        void publish.finally(() => inFlight.delete(publish));
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
        if (dryRun) report();
      }
      await Promise.all(inFlight);
    } finally {
      for (const message of held) channel.nack(message, false, true);
      await publisher.close(1_000).catch(() => {});
      await recorder.flush();
    }
    report();
    return { ...result, replays: recorder.replays, warnings: recorder.warnings };
  });
}

/** Delete every message in the dead-letter queue; returns how many there were. */
export async function purgeDeadLetters(connection: ChannelModel, ref: DeadLetterQueueRef): Promise<number> {
  const queue = deadLetterQueueName(ref);
  return withDeadLetterChannel(
    connection,
    queue,
    async (channel) => (await channel.purgeQueue(queue)).messageCount,
  );
}

async function withDeadLetterChannel<T>(
  connection: ChannelModel,
  queue: string,
  use: (channel: Channel, total: number) => Promise<T>,
): Promise<T> {
  return withThrowawayChannel(connection, async (channel) => {
    let total: number;
    try {
      total = (await channel.checkQueue(queue)).messageCount;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw new ToolboxError("TOPOLOGY_MISMATCH", `The dead-letter queue ${queue} does not exist.`, {
        cause: error,
        hint: "check the service name and --env-prefix, or declare the topology (worker-toolbox topology apply)",
      });
    }
    return use(channel, total);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
