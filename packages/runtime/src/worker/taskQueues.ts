import { entityNames, planTopology, type ToolboxConfig } from "@worker-toolbox/config";
import type { ChannelModel, ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import type { AckTracker } from "../consumer/acks.js";
import { ByteWindow } from "../consumer/byteWindow.js";
import { consumerTimeoutOf } from "../consumer/consumerTimeout.js";
import { QueueConsumer } from "./queueConsumer.js";

/** What `add_consumer` / `cancel_consumer` answer (Celery's words, celery/worker/control.py). */
export type QueueReply = { ok: string } | { error: string };

export interface TaskQueuesParts {
  config: ToolboxConfig;
  service: string;
  logger: Logger;
  /** The delivery pipeline's entry: every queue's deliveries are settled there. */
  receive(acks: AckTracker, message: ConsumeMessage): void;
  /** The worker's "stop retrying" signal (its shutdown deadline). */
  stop: AbortSignal;
  /** Counts a consumer channel the broker closed for its consumer_timeout. */
  timedOut(): void;
  /** Consume / stop consuming the service's own queue (the worker's main consumer). */
  serviceQueue: {
    start(conn: ChannelModel): Promise<void>;
    stop(): Promise<void>;
  };
}

/** AMQP 404: no such queue (the channel is closed by the broker). */
const isNotFound = (error: unknown) => (error as { code?: unknown })?.code === 404;

/**
 * Which task queues a worker consumes: its service's queue (unless remote control's `cancel_consumer`
 * stopped it) and the queues `add_consumer` added, kept across reconnects (as a Celery worker keeps them)
 * and forgotten on restart. An added queue is a queue declared elsewhere, consumed as it is: the worker
 * checks it exists (passively) and never declares it, so one declared with other arguments is never
 * re-declared differently. The toolbox's own queues of the environment other than the service's (other
 * services', dead letters, delay rungs, the platform queue) and remote-control/event queues are refused.
 * Every queue's deliveries go to the one delivery pipeline (one place settles, the row before the ack) and
 * are drained on shutdown. Changes run one after another, and after a reconnect's re-subscription.
 */
export class TaskQueues {
  private consumingServiceQueue = true;
  private readonly added = new Map<string, QueueConsumer | undefined>();
  private connection: ChannelModel | undefined;
  private stopped = false;
  private changing: Promise<unknown> = Promise.resolve();
  private readonly serviceQueueName: string;

  constructor(private readonly parts: TaskQueuesParts) {
    this.serviceQueueName = entityNames(parts.config.environment.prefix).serviceQueue(parts.service);
  }

  /** The queues consumed now, the service's first. */
  list(): string[] {
    return [...(this.consumingServiceQueue ? [this.serviceQueueName] : []), ...this.added.keys()];
  }

  /** After every (re)connect: consume the service's queue (unless cancelled) and every added queue. */
  attach(conn: ChannelModel): Promise<void> {
    return this.serially(async () => {
      this.connection = conn;
      conn.once("close", () => {
        if (this.connection === conn) this.connection = undefined;
      });
      if (this.consumingServiceQueue) await this.parts.serviceQueue.start(conn);
      for (const queue of [...this.added.keys()]) {
        try {
          this.added.set(queue, await this.consume(conn, queue));
        } catch (error) {
          this.added.delete(queue);
          this.parts.logger.warn(
            { queue, err: (error as Error).message },
            "no longer consuming from an added queue: it could not be consumed after the reconnect",
          );
        }
      }
    });
  }

  /**
   * The broker closed the service queue's consumer channel for its consumer_timeout, the connection still up:
   * consume it again on a new channel (unless remote control stopped it, or a reconnect does it anyway).
   */
  resumeServiceQueue(conn: ChannelModel): Promise<void> {
    return this.serially(async () => {
      if (this.connection !== conn || this.stopped || !this.consumingServiceQueue) return;
      await this.parts.serviceQueue.start(conn);
    });
  }

  /** `add_consumer <queue>`. */
  add(queue: string): Promise<QueueReply> {
    return this.serially(async () => {
      const conn = this.connection;
      if (queue === this.serviceQueueName) {
        if (this.consumingServiceQueue) return { ok: `already consuming from ${queue}` };
        if (!conn || this.stopped) return { error: "the worker is not connected to the broker" };
        await this.parts.serviceQueue.start(conn);
        this.consumingServiceQueue = true;
        return { ok: `add consumer ${queue}` };
      }
      if (this.added.has(queue)) return { ok: `already consuming from ${queue}` };
      const refused = this.refusal(queue);
      if (refused) return { error: refused };
      if (!conn || this.stopped) return { error: "the worker is not connected to the broker" };
      this.added.set(queue, await this.consume(conn, queue));
      this.parts.logger.info({ queue }, "remote control: started consuming from an added queue");
      return { ok: `add consumer ${queue}` };
    }).catch((error: Error) => ({ error: error.message }));
  }

  /** `cancel_consumer <queue>`: stop consuming; what it delivered is still run, settled and acked. */
  cancel(queue: string): Promise<QueueReply> {
    return this.serially(async () => {
      if (queue === this.serviceQueueName && this.consumingServiceQueue) {
        this.consumingServiceQueue = false;
        await this.parts.serviceQueue.stop();
      } else if (this.added.has(queue)) {
        const consumer = this.added.get(queue);
        this.added.delete(queue);
        await consumer?.retire();
      } else return { error: `not consuming from ${queue}` };
      this.parts.logger.info({ queue }, "remote control: no longer consuming from a queue");
      return { ok: `no longer consuming from ${queue}` };
    });
  }

  /**
   * Shutdown: no more changes (after any under way), stop consuming the added queues; the worker then cancels
   * its service queue's consumer (the one any change before made) itself.
   */
  close(): Promise<void> {
    return this.serially(async () => {
      this.stopped = true;
      const consumers = [...this.added.values()];
      await Promise.all(consumers.map((consumer) => consumer?.subscription.cancel().catch(() => undefined)));
    });
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const next = this.changing.then(change);
    this.changing = next.catch(() => undefined);
    return next;
  }

  /** Why `queue` may not be added, or undefined. */
  private refusal(queue: string): string | undefined {
    const { config, service } = this.parts;
    const prefix = config.environment.prefix;
    const planned = planTopology(config).queues.find((entry) => entry.name === queue);
    if (planned)
      return `${queue} is the toolbox's queue of ${planned.purpose}: a ${service} worker consumes only its service's queue ${this.serviceQueueName} there`;
    if (queue.startsWith(`${prefix}.`))
      return `${queue} is in environment ${prefix}'s toolbox topology (another service's queue?): a ${service} worker runs only its own tasks, from ${this.serviceQueueName}; start a worker of that service instead`;
    if (queue.endsWith(".pidbox") || queue.startsWith("celeryev."))
      return `${queue} is a remote-control or event queue, not a task queue`;
    return undefined;
  }

  /** Check `queue` exists (passively: never declared) and consume it on a channel of its own. */
  private async consume(conn: ChannelModel, queue: string): Promise<QueueConsumer> {
    const { config, logger } = this.parts;
    const channel = await conn.createChannel();
    channel.on("error", (error: Error) => {
      if (!isNotFound(error) && consumerTimeoutOf(error) === undefined)
        logger.warn({ err: error.message, queue }, "added queue channel error");
    });
    try {
      await channel.checkQueue(queue);
    } catch (error) {
      if (isNotFound(error))
        throw new Error(
          `queue ${queue} does not exist: declare it (with its bindings) first; a worker-toolbox worker consumes a queue declared elsewhere as it is and never declares one`,
        );
      throw error;
    }
    const consumer = QueueConsumer.on(channel, {
      queue,
      window: new ByteWindow({
        maxBytes: config.worker.maxInFlightBytes,
        maxPrefetch: config.worker.prefetch,
        largestMessage: config.limits.maxMessageBytes,
      }),
      receive: this.parts.receive,
      stop: this.parts.stop,
      timedOut: this.parts.timedOut,
      settled: (bytes, self) => self.subscription.settled(bytes),
      cancelled: (self) => this.lost(queue, self, "the broker cancelled the consumer (queue deleted?)"),
      logger,
    });
    channel.once("close", () => {
      // A channel error with the connection up (a reconnect re-subscribes every added queue itself).
      setImmediate(() => {
        if (this.connection !== conn || this.stopped) return;
        if (consumer.timedOut !== undefined) void this.resume(conn, queue, consumer);
        else this.lost(queue, consumer, "its channel closed");
      });
    });
    await consumer.start();
    return consumer;
  }

  /** An added queue whose channel the broker closed for its consumer_timeout: consume it on a new channel. */
  private resume(conn: ChannelModel, queue: string, consumer: QueueConsumer): Promise<void> {
    return this.serially(async () => {
      if (this.added.get(queue) !== consumer || this.connection !== conn || this.stopped) return;
      try {
        this.added.set(queue, await this.consume(conn, queue));
      } catch (error) {
        this.lost(queue, consumer, `it could not be consumed again: ${(error as Error).message}`);
      }
    });
  }

  private lost(queue: string, consumer: QueueConsumer, why: string): void {
    if (this.added.get(queue) !== consumer) return;
    this.added.delete(queue);
    void consumer.retire();
    this.parts.logger.warn({ queue, why }, "no longer consuming from an added queue");
  }
}
