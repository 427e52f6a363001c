import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import { AckTracker } from "../consumer/acks.js";
import type { ByteWindow } from "../consumer/byteWindow.js";
import { consumerTimeoutOf, logConsumerTimeout } from "../consumer/consumerTimeout.js";
import { Subscription } from "../consumer/subscription.js";

export interface QueueConsumerOptions {
  queue: string;
  /** The bytes held for this queue's deliveries (worker.maxInFlightBytes, worker.prefetch). */
  window: ByteWindow;
  /** Every delivery goes to the worker's delivery pipeline, which alone settles it (through `acks`). */
  receive(acks: AckTracker, message: ConsumeMessage): void;
  /** The worker's "stop retrying" signal (its shutdown deadline). */
  stop: AbortSignal;
  /** Told the bytes of every message acked or given back, also after the consumer stopped. */
  settled(bytes: number, consumer: QueueConsumer): void;
  /** The broker cancelled the consumer (queue deleted, failed over). */
  cancelled(consumer: QueueConsumer): void;
  /** The broker closed the channel for its consumer_timeout (counted; the owner consumes again on close). */
  timedOut(): void;
  logger: Logger;
}

/**
 * One task queue consumed on a channel of its own (the service's queue, and any queue remote control's
 * `add_consumer` adds): a Subscription whose prefetch follows a byte window, deliveries handed to the delivery
 * pipeline with the channel's AckTracker — so a delivery from any queue is settled in the same one place,
 * its row committed before its ack, and given back on shutdown. `retire()` stops consuming and closes the
 * channel once every delivery it carried is settled.
 */
export class QueueConsumer {
  private retired = false;
  /** Set when the broker closed the channel for its consumer_timeout (the timeout it reported, in ms). */
  timedOut: number | undefined;

  private constructor(
    readonly queue: string,
    readonly channel: Channel,
    readonly acks: AckTracker,
    readonly subscription: Subscription,
  ) {}

  /** Open a channel on `conn` for consuming `options.queue` (`start()` consumes). */
  static async open(conn: ChannelModel, options: QueueConsumerOptions): Promise<QueueConsumer> {
    const channel = await conn.createChannel();
    channel.on("error", (error: Error) => {
      if (consumerTimeoutOf(error) === undefined)
        options.logger.warn({ err: error.message, queue: options.queue }, "consumer channel error");
    });
    return QueueConsumer.on(channel, options);
  }

  /** A consumer of `options.queue` on `channel` (the caller's, e.g. one that checked the queue exists). */
  static on(channel: Channel, options: QueueConsumerOptions): QueueConsumer {
    let consumer: QueueConsumer | undefined;
    const acks = new AckTracker(channel, options.stop, (bytes) => {
      if (!consumer) return;
      options.settled(bytes, consumer);
      consumer.closeWhenSettled();
    });
    const subscription = new Subscription(
      channel,
      options.queue,
      options.window,
      (message) => {
        if (message) options.receive(acks, message);
        else if (consumer) options.cancelled(consumer);
      },
      options.logger,
    );
    consumer = new QueueConsumer(options.queue, channel, acks, subscription);
    const timedOut = consumer.watchTimeout(options);
    channel.on("error", timedOut);
    return consumer;
  }

  /** Consume (the byte window's prefetch). */
  start(): Promise<void> {
    return this.subscription.start();
  }

  /** True until the channel closed. */
  get open(): boolean {
    return this.acks.open;
  }

  /** Stop consuming; the channel stays open until what it delivered is settled (acked or given back). */
  async retire(): Promise<void> {
    this.retired = true;
    await this.subscription.cancel().catch(() => undefined);
    this.closeWhenSettled();
  }

  /** RabbitMQ's consumer_timeout closing the channel: one error line (cause, task, fix) and the count. */
  private watchTimeout(options: QueueConsumerOptions): (error: Error) => void {
    return (error) => {
      const timeoutMs = consumerTimeoutOf(error);
      if (timeoutMs === undefined) return;
      this.timedOut = timeoutMs;
      const { oldest, unsettled } = this.acks;
      logConsumerTimeout(options.logger, { queue: this.queue, timeoutMs, oldest, unsettled });
      options.timedOut();
    };
  }

  private closeWhenSettled(): void {
    if (!this.retired || this.acks.unsettled > 0 || !this.acks.open) return;
    // After the microtask that sends the last ack (AckTracker coalesces acks in one).
    setImmediate(() => void this.channel.close().catch(() => undefined));
  }
}
