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
import { createReplayRecorder, type ReplayRecorder } from "./replayRecorder.js";
import { type ReplaySelection, replayMatcher, replayTarget } from "./replaySelection.js";

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
  const plan: ReplayPlan = {
    matches: replayMatcher(options.selection),
    target: replayTarget(ref.prefix, ref.service),
    // Service dead letters start a new generation of their task; the platform's are tracking copies.
    startsGeneration: ref.service !== PLATFORM_DEAD_LETTER_KEY,
    dryRun: options.dryRun === true,
  };
  const queue = deadLetterQueueName(ref);
  return withDeadLetterChannel(connection, queue, (channel, total) =>
    new DeadLetterReplay(channel, queue, total, plan, options).run(connection),
  );
}

interface ReplayPlan {
  matches: (info: DeadLetterInfo) => boolean;
  target: { exchange: string; routingKey?: string };
  startsGeneration: boolean;
  dryRun: boolean;
}

/**
 * One replay over a dead-letter queue. Each message is examined once: those not replayed stay
 * unacknowledged until the end (`held`), so `get` moves on to the next one instead of returning them
 * again; a replayed one is acked only once its copy is confirmed.
 */
class DeadLetterReplay {
  private readonly result: ReplayResult;
  private readonly held: GetMessage[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly recorder: ReplayRecorder;
  private readonly publisher: ConfirmPublisher;
  private readonly concurrency: number;
  private readonly started = Date.now();
  private stopped = false;

  constructor(
    private readonly channel: Channel,
    private readonly queue: string,
    private readonly total: number,
    private readonly plan: ReplayPlan,
    private readonly options: ReplayOptions,
  ) {
    this.result = {
      queue,
      dryRun: plan.dryRun,
      total,
      examined: 0,
      matched: 0,
      replayed: 0,
      failed: [],
      items: [],
      replays: [],
      warnings: [],
    };
    this.recorder = createReplayRecorder(options.results);
    this.publisher = new ConfirmPublisher({
      logger: options.logger,
      deadlineMs: options.publishTimeoutMs,
      name: "dlq-replay",
    });
    this.concurrency = Math.max(1, options.concurrency ?? 100);
  }

  async run(connection: ChannelModel): Promise<ReplayResult> {
    if (!this.plan.dryRun) await this.publisher.attach(connection);
    try {
      await this.examineAll();
    } finally {
      for (const message of this.held) this.channel.nack(message, false, true);
      await this.publisher.close(1_000).catch(() => {});
      await this.recorder.flush();
    }
    this.report();
    return { ...this.result, replays: this.recorder.replays, warnings: this.recorder.warnings };
  }

  private async examineAll(): Promise<void> {
    while (this.result.examined < this.total && !this.stopped && !this.options.signal?.aborted) {
      await this.pace();
      const message = await this.channel.get(this.queue, { noAck: false });
      if (!message) break;
      this.result.examined++;
      const copying = this.examine(message);
      if (copying && this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    }
    await Promise.all(this.inFlight);
  }

  /** With `ratePerSecond`, wait until the next message is due. */
  private async pace(): Promise<void> {
    const rate = this.options.ratePerSecond;
    if (!rate) return;
    const due = this.started + (this.result.examined / rate) * 1_000;
    if (due > Date.now()) await sleep(due - Date.now());
  }

  /** Hold a message that is not replayed; start the copy of one that is (returns true). */
  private examine(message: GetMessage): boolean {
    const info = describeDeadLetter(message);
    if (!this.plan.matches(info)) {
      this.held.push(message);
      return false;
    }
    this.result.matched++;
    if (this.result.items.length < 1_000) this.result.items.push(info);
    if (this.plan.dryRun) {
      this.held.push(message);
      return false;
    }
    const generation = this.plan.startsGeneration
      ? readGeneration(message.properties.headers) + 1
      : undefined;
    const request = replayRequest(message, this.plan.target, Date.now(), generation);
    if (!request) {
      this.result.failed.push({ taskId: info.taskId, task: info.task, error: "no routing key to replay to" });
      this.held.push(message);
      return false;
    }
    const publish = this.publisher.publish(request).then(
      () => this.replayed(message, info, generation),
      (error: Error) => this.notReplayed(message, info, error),
    );
    this.inFlight.add(publish);
    void publish.finally(() => this.inFlight.delete(publish));
    return true;
  }

  /** Only now, with the copy confirmed by the broker, does the dead letter go. */
  private replayed(message: GetMessage, info: DeadLetterInfo, generation: number | undefined): void {
    this.channel.ack(message);
    this.result.replayed++;
    if (info.taskId && generation !== undefined) this.recorder.add({ taskId: info.taskId, generation });
    this.report();
  }

  private notReplayed(message: GetMessage, info: DeadLetterInfo, error: Error): void {
    this.channel.nack(message, false, true);
    this.result.failed.push({
      taskId: info.taskId,
      task: info.task,
      error: error.message.split("\n")[0] ?? "",
    });
    // Unroutable, nacked, connection lost: the next publish would fail the same way.
    this.stopped = true;
  }

  private report(): void {
    const { total, examined, matched, replayed } = this.result;
    this.options.onProgress?.({ total, examined, matched, replayed });
  }
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
