import {
  entityNames,
  isToolboxError,
  PLATFORM_DEAD_LETTER_KEY,
  planTopology,
  type ToolboxConfig,
  ToolboxError,
} from "@worker-toolbox/config";
import type { Channel, ConsumeMessage } from "amqplib";
import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import type pg from "pg";
import { type Logger, pino } from "pino";
import { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { BrokerConnection, type BrokerState } from "../broker/connection.js";
import { publishDeadLetter } from "../consumer/deadLetter.js";
import { decodeTaskMessage, type IncomingProperties, type TaskMessage } from "../protocol/index.js";
import { trackingInput } from "../results/messageRows.js";
import { createDatabasePool } from "../results/pool.js";
import { type TrackingInput, upsertTracking } from "../results/trackingStore.js";
import { applyTopology } from "../topology/applyTopology.js";

/**
 * The platform side of the platform queue: consumes the copy of every task message and records it in the
 * tracking table, in batches. A message is acknowledged only after its row is committed; a message that can
 * never be stored (not a Celery v2 task message, or a row the database refuses) goes to
 * `<prefix>.platform.dead` with the reason. Writes are idempotent on task id, so redeliveries and retries
 * (same id, retries + 1) are harmless.
 */
export interface TrackerOptions {
  config: ToolboxConfig;
  logger?: Logger;
  /** Pool to write with; created from config.database when omitted (and closed by close()). */
  pool?: pg.Pool;
}

export interface TrackerStats {
  stored: number;
  deadLettered: number;
  batches: number;
}

export interface Tracker {
  readonly state: BrokerState;
  readonly stats: TrackerStats;
  /** Resolves once consuming; rejects on a fatal broker error. */
  start(): Promise<void>;
  /** Stop consuming, store what was received, close connections. */
  close(): Promise<void>;
}

interface Pending {
  row: TrackingInput;
  message: ConsumeMessage;
  channel: Channel;
}

export function createTracker(options: TrackerOptions): Tracker {
  const { config } = options;
  const logger = (options.logger ?? pino({ level: config.logLevel })).child({ component: "tracker" });
  const names = entityNames(config.environment.prefix);
  const ownsPool = !options.pool;
  const pool = options.pool ?? createDatabasePool(config, { logger });
  const publisher = new ConfirmPublisher({
    logger,
    deadlineMs: config.producer.publishTimeoutMs,
    name: "tracker",
  });
  const stats: TrackerStats = { stored: 0, deadLettered: 0, batches: 0 };

  let batch: Pending[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let closing = false;
  const stopping = new AbortController();
  let consumer: { channel: Channel; tag: string } | undefined;

  // Database outages are waited out: messages stay unacknowledged (prefetch bounds memory) until stored.
  const storeRetry = retry(
    handleWhen((error) => !closing && error instanceof ToolboxError && error.code === "DATABASE_UNAVAILABLE"),
    {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 10_000 }),
    },
  );
  storeRetry.onRetry(({ delay }) =>
    logger.warn({ delayMs: Math.round(delay) }, "database unavailable, retrying tracking write"),
  );

  const connection = new BrokerConnection({
    config,
    logger,
    name: "worker-toolbox tracker",
    setup: async (conn) => {
      const declare = await conn.createChannel();
      await applyTopology(declare, planTopology(config, []));
      await declare.close();
      await publisher.attach(conn);
      const channel = await conn.createChannel();
      channel.on("error", (error: Error) => logger.warn({ err: error.message }, "tracker channel error"));
      await channel.prefetch(config.tracker.prefetch);
      const { consumerTag } = await channel.consume(names.platformQueue, (message) => {
        if (message) receive(channel, message);
        else {
          // The broker cancelled us (queue deleted or failed over): reconnect, which re-declares and resubscribes.
          logger.warn("platform queue consumer cancelled by the broker; reconnecting");
          void conn.close().catch(() => undefined);
        }
      });
      consumer = { channel, tag: consumerTag };
    },
  });

  function receive(channel: Channel, message: ConsumeMessage): void {
    let task: TaskMessage;
    try {
      task = decodeTaskMessage(message.content, message.properties as unknown as IncomingProperties);
    } catch (error) {
      void deadLetter(channel, message, error as Error);
      return;
    }
    batch.push({ row: trackingInput(task, names.serviceQueue), message, channel });
    if (batch.length >= config.tracker.batchSize) scheduleFlush(0);
    else scheduleFlush(20);
  }

  function scheduleFlush(delayMs: number): void {
    if (flushTimer && delayMs > 0) return;
    clearTimeout(flushTimer);
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      flushing = flushing.then(flush);
    }, delayMs);
  }

  async function flush(): Promise<void> {
    const taken = batch;
    batch = [];
    if (taken.length === 0) return;
    try {
      await storeRetry.execute(
        () =>
          upsertTracking(
            pool,
            config.database.schema,
            taken.map((p) => p.row),
          ),
        stopping.signal,
      );
      settle(taken);
    } catch (error) {
      if (closing) return; // Unacknowledged: redelivered to the next tracker.
      if (taken.length === 1) {
        await deadLetter(taken[0]!.channel, taken[0]!.message, error as Error);
        return;
      }
      // One bad row must not block the rest: store one by one to find it.
      logger.warn(
        { err: (error as Error).message, rows: taken.length },
        "tracking batch refused; isolating the bad row",
      );
      for (const pending of taken) {
        batch = [pending];
        await flush();
      }
    }
  }

  function settle(stored: Pending[]): void {
    stats.batches++;
    stats.stored += stored.length;
    for (const { channel, message } of stored) {
      try {
        channel.ack(message);
      } catch {
        // The channel died after the commit: the message comes back and the upsert is a no-op.
      }
    }
  }

  async function deadLetter(channel: Channel, message: ConsumeMessage, error: Error): Promise<void> {
    const reason = isToolboxError(error, "MESSAGE_MALFORMED") ? "malformed" : "unstorable-tracking";
    logger.error({ reason, err: error.message }, "dead-lettering a platform message");
    try {
      await publishDeadLetter(
        publisher,
        { exchange: names.deadLetterExchange, routingKey: PLATFORM_DEAD_LETTER_KEY, by: "tracker" },
        message,
        { reason, error, attempts: 0 },
      );
      channel.ack(message);
      stats.deadLettered++;
    } catch (publishError) {
      // Not confirmed: leave it unacknowledged so it is redelivered rather than lost.
      logger.warn(
        { err: (publishError as Error).message },
        "dead letter not confirmed; message left for redelivery",
      );
    }
  }

  return {
    get state() {
      return connection.state;
    },
    stats,
    async start() {
      await connection.ready();
      logger.info({ queue: names.platformQueue }, "tracker consuming");
    },
    async close() {
      await consumer?.channel.cancel(consumer.tag).catch(() => undefined);
      clearTimeout(flushTimer);
      // One last attempt to store what was received; with the database down it stays unacknowledged
      // and returns to the queue when the connection closes.
      closing = true;
      stopping.abort();
      flushing = flushing.then(flush);
      await flushing;
      await publisher.close();
      await connection.close();
      if (ownsPool) await pool.end();
    },
  };
}
