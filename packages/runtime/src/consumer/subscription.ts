import type { Channel, ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import type { ByteWindow, WindowChange } from "./byteWindow.js";

/**
 * One consumer on one channel whose prefetch follows a ByteWindow: when the window asks, the consumer is
 * cancelled (the broker stops sending; what was delivered stays ours to ack) and consumed again with the
 * window's prefetch (RabbitMQ applies basic.qos to consumers started after it). Worker and tracker use it for
 * their queue; their AckTracker reports every settled message back to the current one (`settled`), since
 * the window outlives a channel: deliveries of a closed channel count until their pipeline settles them.
 */
export class Subscription {
  private tag: string | undefined;
  private closed = false;
  /** Changes run one after another: a cancel and a consume never overlap. */
  private changing: Promise<void> = Promise.resolve();

  constructor(
    private readonly channel: Channel,
    private readonly queue: string,
    private readonly window: ByteWindow,
    private readonly onMessage: (message: ConsumeMessage | null) => void,
    private readonly logger: Logger,
  ) {
    // A closed channel's consumer is gone; the connection's recovery starts another Subscription.
    channel.once("close", () => {
      this.closed = true;
    });
  }

  /** Consume (unless the window is paused: then the first `resume` does). */
  async start(): Promise<void> {
    if (!this.window.paused) await this.consume();
  }

  /** For AckTracker: a message of this consumer's channel arrived. */
  readonly received = (message: ConsumeMessage): void => {
    this.apply(this.window.take(message.content.length));
  };

  /** For AckTracker: a message was acked or given back. */
  readonly settled = (bytes: number): void => {
    this.apply(this.window.release(bytes));
  };

  /** Stop for good: no resume after this. */
  async cancel(): Promise<void> {
    this.closed = true;
    await this.changing;
    const tag = this.tag;
    this.tag = undefined;
    if (tag) await this.channel.cancel(tag);
  }

  private apply(change: WindowChange): void {
    if (!change || this.closed) return;
    this.changing = this.changing
      .then(async () => {
        if (this.closed) return;
        if (change === "pause") {
          const tag = this.tag;
          this.tag = undefined;
          if (tag) await this.channel.cancel(tag);
          this.logger.debug(
            { heldBytes: this.window.held },
            "consumer paused (in-flight bytes or a new window)",
          );
          return;
        }
        if (!this.window.paused && !this.tag) await this.consume();
      })
      .catch((error: Error) => {
        // The channel closed meanwhile: the connection's recovery subscribes again.
        this.logger.debug({ err: error.message }, "consumer pause/resume failed");
      });
  }

  private async consume(): Promise<void> {
    await this.channel.prefetch(this.window.prefetch);
    const { consumerTag } = await this.channel.consume(this.queue, (message) => {
      if (message) this.received(message);
      this.onMessage(message);
    });
    this.tag = consumerTag;
    this.window.started();
  }
}
