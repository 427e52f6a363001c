import {
  entityNames,
  PLATFORM_DEAD_LETTER_KEY,
  planTopology,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import type { ChannelModel, ConsumeMessage } from "amqplib";
import type pg from "pg";
import { type Logger, pino } from "pino";
import { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { BrokerConnection, type BrokerState } from "../broker/connection.js";
import { AckTracker } from "../consumer/acks.js";
import { BatchWriter } from "../consumer/batchWriter.js";
import { ByteWindow } from "../consumer/byteWindow.js";
import { consumerTimeoutOf, logConsumerTimeout } from "../consumer/consumerTimeout.js";
import { Subscription } from "../consumer/subscription.js";
import { durableRetry, isRowError } from "../consumer/transient.js";
import { within } from "../consumer/within.js";
import { messageTooLarge } from "../delivery/admit.js";
import { Delivery } from "../delivery/delivery.js";
import { deadLetter } from "../delivery/verdict.js";
import { decodeTaskMessage, type IncomingProperties } from "../protocol/decodeTaskMessage.js";
import { trackingInput } from "../results/messageRows.js";
import { createDatabasePool } from "../results/pool.js";
import { guardPool } from "../results/poolErrors.js";
import { type TrackingInput, upsertTracking } from "../results/trackingStore.js";
import { applyTopology } from "../topology/applyTopology.js";
import { type TrackerStats, type TrackingVerdict, trackingSettle } from "./settleTracking.js";

/**
 * The platform side of the platform queue: consumes the copy of every task message and records it in the
 * tracking table, in batches. A message is acknowledged only after its row is committed; a message that can
 * never be stored (not a Celery v2 task message, or a row the database refuses) goes to
 * `<prefix>.platform.dead` with the reason. Writes are idempotent on task id, so redeliveries and retries
 * (same id, retries + 1) are harmless. It shares the worker's consumer kit (consumer/): the ack tracker, the
 * batch writer, the durable retry and the transient check.
 */
export interface TrackerOptions {
  config: ToolboxConfig;
  logger?: Logger;
  /** Pool to write with; created from config.database when omitted (and closed by close()). */
  pool?: pg.Pool;
}

export type { TrackerStats } from "./settleTracking.js";

export interface Tracker {
  readonly state: BrokerState;
  readonly stats: TrackerStats;
  /** Resolves once consuming; rejects on a fatal broker error. */
  start(): Promise<void>;
  /** Stop consuming, store what was received, close connections. */
  close(): Promise<void>;
}

/**
 * Bytes of messages whose rows go in one statement: at 100 KB a message, 40 rows instead of 500 (50 MB of
 * parameters, copied once more by the driver). Rows of small messages still fill `tracker.batchSize`.
 */
const BATCH_BYTES = 4 * 1024 * 1024;

/** How long close() keeps trying to store what was received before giving it back. */
const CLOSE_FLUSH_MS = 5_000;

export function createTracker(options: TrackerOptions): Tracker {
  const { config } = options;
  const logger = (options.logger ?? pino({ level: config.logLevel })).child({ component: "tracker" });
  const names = entityNames(config.environment.prefix);
  const pool = options.pool ? guardPool(options.pool, logger) : createDatabasePool(config, { logger });
  const publisher = new ConfirmPublisher({
    logger,
    deadlineMs: config.producer.publishTimeoutMs,
    name: "tracker",
  });
  // Fired by close(): durable retries of writes and dead letters stop, unsettled copies are given back.
  const stopping = new AbortController();
  const retry = durableRetry(logger, "storing tracking rows failed; retrying (messages stay unacknowledged)");
  const writer = new BatchWriter<TrackingInput>({
    write: (rows) => upsertTracking(pool, config.database.schema, rows),
    retry,
    batchSize: config.tracker.batchSize,
    maxBatchBytes: BATCH_BYTES,
    waitMs: 20,
    concurrency: 1,
    describe: (row) => `The tracking row of ${row.taskId}`,
  });
  const verdictOf = (delivery: Delivery) =>
    track(delivery, writer, names.serviceQueue, config.limits.maxMessageBytes);
  const window = new ByteWindow({
    maxBytes: config.tracker.maxInFlightBytes,
    maxPrefetch: config.tracker.prefetch,
    largestMessage: config.limits.maxMessageBytes,
  });
  const stats = trackerStats(writer, window);
  const settle = trackingSettle({
    logger,
    publisher,
    retry,
    stats,
    target: { exchange: names.deadLetterExchange, routingKey: PLATFORM_DEAD_LETTER_KEY, by: "tracker" },
  });
  const records = new Set<Promise<void>>();
  let consumer: Subscription | undefined;
  const settled = (bytes: number) => (consumer ? consumer.settled(bytes) : window.release(bytes));

  function receive(acks: AckTracker, message: ConsumeMessage): void {
    const delivery = new Delivery(message, acks);
    const done = verdictOf(delivery).then((verdict) => settle(delivery, verdict));
    records.add(done);
    void done.finally(() => records.delete(done));
  }

  const setup = async (conn: ChannelModel) => {
    const consuming = () => consumer !== undefined;
    const parts = { config, logger, publisher, stop: stopping.signal, receive, window, settled, consuming };
    await subscribe(conn, parts, (subscription) => {
      consumer = subscription;
    });
  };

  const { connection, consuming } = trackerConnection(config, logger, setup);

  return {
    get state() {
      return connection.state;
    },
    stats,
    async start() {
      await connection.ready();
      consuming();
      logger.info({ queue: names.platformQueue }, "tracker consuming");
    },
    async close() {
      const last = consumer;
      consumer = undefined;
      await last?.cancel().catch(() => undefined);
      // A last chance to store what was received; with the database down the copies are given back.
      await within(writer.flush(), CLOSE_FLUSH_MS, undefined);
      stopping.abort();
      writer.abandon();
      await Promise.allSettled([...records]);
      await publisher.close();
      await connection.close();
      if (!options.pool) await pool.end();
    },
  };
}

/**
 * The tracker's broker connection. A failure is reported once: start() rejects with it (its caller reports,
 * e.g. `worker-toolbox track`'s error), so the connection leaves it to the tracker, which logs it — one error
 * line with the code and fix — only once consuming (`consuming()` called), when nobody awaits start().
 */
function trackerConnection(
  config: ToolboxConfig,
  logger: Logger,
  setup: (conn: ChannelModel) => Promise<void>,
): { connection: BrokerConnection; consuming: () => void } {
  const name = "worker-toolbox tracker";
  const connection = new BrokerConnection({ config, logger, name, setup, failureReport: "owner" });
  let started = false;
  connection.on("state", (state, error) => {
    if (state !== "failed" || !started || !error) return;
    const { code, hint, message } = error;
    logger.error({ code, hint, err: message }, "tracker failed for good; only a restart can help");
  });
  return { connection, consuming: () => (started = true) };
}

/** Counts, and the writer's and the byte window's figures, read when asked. */
function trackerStats(writer: BatchWriter<TrackingInput>, window: ByteWindow): TrackerStats {
  return {
    stored: 0,
    deadLettered: 0,
    get batches() {
      return writer.batches;
    },
    get heldBytes() {
      return window.held;
    },
    get peakHeldBytes() {
      return window.peak;
    },
  };
}

/**
 * One platform-queue copy: decoded and its tracking row committed → stored; bigger than
 * `limits.maxMessageBytes` → dead letter `too-large` (never decoded, no row holding its body, as the worker
 * does); not a task message → dead letter `malformed`; a row the database refuses for its content (it would be refused again) → dead
 * letter `unstorable-tracking`; anything else (closing, the channel gone) → given back.
 */
async function track(
  delivery: Delivery,
  writer: BatchWriter<TrackingInput>,
  serviceQueue: (service: string) => string,
  maxBytes: number,
): Promise<TrackingVerdict> {
  const { message } = delivery;
  if (message.content.length > maxBytes)
    return deadLetter("too-large", messageTooLarge(message.content.length, maxBytes), 0, undefined);
  let row: TrackingInput;
  try {
    const task = decodeTaskMessage(message.content, message.properties as unknown as IncomingProperties);
    row = trackingInput(task, serviceQueue);
  } catch (error) {
    return deadLetter("malformed", error as Error, 0, undefined);
  }
  try {
    await writer.add(row, message.content.length);
    return { kind: "stored" };
  } catch (error) {
    if (isRowError(error)) return deadLetter("unstorable-tracking", error as Error, 0, undefined);
    return { kind: "give-back", why: "unsettled", error };
  }
}

/**
 * After every (re)connect: declare the topology, attach the publisher, consume the platform queue with a
 * prefetch the byte window allows (`current` learns the subscription before its first message).
 */
async function subscribe(
  conn: ChannelModel,
  parts: {
    config: ToolboxConfig;
    logger: Logger;
    publisher: ConfirmPublisher;
    stop: AbortSignal;
    receive: (acks: AckTracker, message: ConsumeMessage) => void;
    window: ByteWindow;
    settled: (bytes: number) => void;
    /** False once close() stopped consuming. */
    consuming: () => boolean;
  },
  current: (subscription: Subscription) => void,
): Promise<Subscription> {
  const { config, logger } = parts;
  const declare = await conn.createChannel();
  await applyTopology(declare, planTopology(config, []));
  await declare.close();
  await parts.publisher.attach(conn);
  const channel = await conn.createChannel();
  const acks = new AckTracker(channel, parts.stop, parts.settled);
  const queue = entityNames(config.environment.prefix).platformQueue;
  channel.on("error", (error: Error) => {
    const timeoutMs = consumerTimeoutOf(error);
    if (timeoutMs === undefined) logger.warn({ err: error.message }, "tracker channel error");
    else
      logConsumerTimeout(
        logger,
        { queue, timeoutMs, oldest: acks.oldest, unsettled: acks.unsettled },
        "tracker",
      );
  });
  // Closed with the connection up (RabbitMQ's consumer_timeout, another channel error), not by close():
  // reconnect, which re-declares and resubscribes, instead of sitting on a connection without a consumer.
  channel.once("close", () => {
    if (!parts.stop.aborted && parts.consuming()) void conn.close().catch(() => undefined);
  });
  const subscription = new Subscription(
    channel,
    queue,
    parts.window,
    (message) => {
      if (message) parts.receive(acks, message);
      else {
        // The broker cancelled us (queue deleted or failed over): reconnect, which re-declares and resubscribes.
        logger.warn("platform queue consumer cancelled by the broker; reconnecting");
        void conn.close().catch(() => undefined);
      }
    },
    logger,
  );
  current(subscription);
  await subscription.start();
  return subscription;
}
