/**
 * How many bytes a consumer holds: messages delivered and not yet settled (acked or given back), and the
 * prefetch that keeps them under a budget. AMQP's prefetch counts messages, and RabbitMQ does not implement
 * basic.qos's prefetch_size, so a count alone lets 2,000 prefetched 1 MB messages sit in one tracker.
 *
 * The window sets the prefetch by bytes: it starts at what the budget allows for the largest message the
 * consumer accepts (`limits.maxMessageBytes`), and grows (doubling, up to the configured prefetch) while a
 * window of the largest message seen fits the budget; it pauses the consumer when the bytes held pass the
 * budget anyway (larger messages than those seen) and resumes at half of it with a prefetch that fits the
 * room left. A new prefetch needs a new consumer (RabbitMQ applies basic.qos to consumers started after it,
 * and quorum queues have no per-channel prefetch), so growing waits until all but an eighth of the grown
 * window is free and starts the new consumer with the room left beside what is still held: the messages held never pass the
 * configured prefetch, and their bytes stay under `maxBytes` while sizes stay within those seen (when they
 * jump, by at most what arrives before the pause takes effect).
 * Subscription (consumer/subscription.ts) applies its decisions to the channel.
 */
export interface ByteWindowOptions {
  /** `worker.maxInFlightBytes` / `tracker.maxInFlightBytes`. */
  maxBytes: number;
  /** The configured prefetch: the window never exceeds it. */
  maxPrefetch: number;
  /** The largest message the consumer accepts (`limits.maxMessageBytes`): the first window's assumption. */
  largestMessage: number;
}

/** What the subscription should do after a message arrived or settled. */
export type WindowChange = "pause" | "resume" | undefined;

/** The smallest message size the window plans for: headers and properties weigh this much anyway. */
const FLOOR_BYTES = 1_024;

export class ByteWindow {
  held = 0;
  count = 0;
  peak = 0;
  /**
   * Why the consumer is paused: `bytes` (over the budget: resume at half of it), `regrow` (a larger window
   * fits: resume once 7/8 of it is free, beside what is held, so two consumers' windows never add up), or
   * not paused.
   */
  private pausedFor: "bytes" | "regrow" | undefined;
  /** The prefetch the next consume asks for. */
  prefetch: number;
  /** How many messages may be held, by the current consumer and those before it together. */
  size: number;
  /** The prefetch the current consumer was started with. */
  private active: number;
  /** Largest message since the window was last set. */
  private largest = 0;

  constructor(private readonly options: ByteWindowOptions) {
    this.prefetch = this.fit(options.largestMessage, options.maxBytes);
    this.size = this.prefetch;
    this.active = this.prefetch;
  }

  get paused(): boolean {
    return this.pausedFor !== undefined;
  }

  /** A message arrived. */
  take(bytes: number): WindowChange {
    this.held += bytes;
    this.count += 1;
    this.peak = Math.max(this.peak, this.held);
    this.largest = Math.max(this.largest, bytes);
    if (this.pausedFor) return undefined;
    if (this.held > this.options.maxBytes) {
      this.pausedFor = "bytes";
      return "pause";
    }
    // The window is full of messages that leave room: a larger one fits the budget.
    const grown = Math.min(this.options.maxPrefetch, this.size * 2);
    if (this.count >= this.active && grown > this.size && grown * this.planned() <= this.options.maxBytes) {
      this.pausedFor = "regrow";
      this.size = grown;
      this.prefetch = grown;
      return "pause";
    }
    return undefined;
  }

  /** A message was settled (acked or given back). */
  release(bytes: number): WindowChange {
    this.held -= bytes;
    this.count -= 1;
    const { maxBytes, maxPrefetch } = this.options;
    // Regrow once all but an eighth of the new window is free, not only when everything is settled: a task
    // that runs for an hour must not stop the consumer for that hour. The new consumer's prefetch leaves room
    // for what is still held, so the two never hold more than the grown window together.
    if (this.pausedFor === "regrow" && this.count <= this.size / 8) {
      this.pausedFor = undefined;
      this.prefetch = this.size - this.count;
      return "resume";
    }
    if (this.pausedFor === "bytes" && this.held <= maxBytes / 2 && this.count < maxPrefetch) {
      this.pausedFor = undefined;
      // Beside what is still held: no more messages than the prefetch, no more bytes than the budget.
      this.prefetch = Math.min(maxPrefetch - this.count, this.fit(this.planned(), maxBytes - this.held));
      this.size = this.count + this.prefetch;
      return "resume";
    }
    return undefined;
  }

  /** The consumer now runs with `prefetch`; sizes are watched afresh. */
  started(): void {
    this.active = this.prefetch;
    this.largest = 0;
  }

  private planned(): number {
    return Math.max(FLOOR_BYTES, this.largest);
  }

  /** The prefetch at which `room` bytes hold messages of `messageBytes`. */
  private fit(messageBytes: number, room: number): number {
    const fits = Math.floor(room / Math.max(FLOOR_BYTES, messageBytes));
    return Math.max(1, Math.min(this.options.maxPrefetch, fits));
  }
}
