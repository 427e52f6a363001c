import type { Channel, Message } from "amqplib";

/**
 * Acknowledgements for one consumer channel, coalesced: acks requested in the same run of the microtask
 * queue (typically every message of one committed result batch) go out as a single `ack(tag, allUpTo=true)` for
 * the part below the oldest message still in flight, and one by one above it. Delivery tags belong to
 * their channel: once it closed, acks are dropped (the broker redelivers those messages; results are
 * idempotent on task id) and `closed` fires, so whatever still retries on behalf of those deliveries
 * (a result write, a publish) stops.
 *
 * Only a `Delivery` handle (delivery/delivery.ts) calls `ack` and `requeue`, once per message.
 */
export class AckTracker {
  /** Delivered and not yet settled, in delivery order (a Map keeps insertion order): tag → message. */
  private readonly inflight = new Map<number, Message>();
  private done: number[] = [];
  private scheduled = false;
  private readonly closing = new AbortController();
  /** Aborted when the channel closed, or when `stop` (given to the constructor) fired. */
  readonly stopped: AbortSignal;

  /**
   * `stop`: the owner's "stop retrying" signal (a worker's shutdown deadline). `settled`: told the bytes of
   * every message acked or given back (a Subscription's byte window), also after the channel closed.
   */
  constructor(
    readonly channel: Channel,
    stop?: AbortSignal,
    private readonly settled?: (bytes: number) => void,
  ) {
    channel.once("close", () => {
      this.done = [];
      this.closing.abort(new Error("the consumer channel closed"));
    });
    this.stopped = stop ? AbortSignal.any([this.closing.signal, stop]) : this.closing.signal;
  }

  /** Aborted once the channel closed: its delivery tags mean nothing any more. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  get open(): boolean {
    return !this.closing.signal.aborted;
  }

  get unsettled(): number {
    return this.inflight.size;
  }

  /** The oldest delivery not yet settled (the one RabbitMQ's consumer_timeout looks at). */
  get oldest(): Message | undefined {
    return this.inflight.values().next().value;
  }

  track(message: Message): void {
    this.inflight.set(message.fields.deliveryTag, message);
  }

  /**
   * Ack as soon as the code settling it returns (a microtask), together with the acks settled meanwhile:
   * the rows of one committed batch resolve in one run of the microtask queue, so their acks go out as one.
   */
  ack(message: Message): void {
    const tag = message.fields.deliveryTag;
    if (!this.forget(tag) || !this.open) return;
    this.done.push(tag);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /** Return a message to the queue right away. */
  requeue(message: Message): void {
    if (!this.forget(message.fields.deliveryTag) || !this.open) return;
    try {
      this.channel.nack(message, false, true);
    } catch {
      // The channel is closing: the broker requeues it anyway.
    }
  }

  /** Take a message out of the in-flight set; false when it was not in it. */
  private forget(tag: number): boolean {
    const message = this.inflight.get(tag);
    if (message === undefined) return false;
    this.inflight.delete(tag);
    this.settled?.(message.content.length);
    return true;
  }

  private readonly flush = () => {
    this.scheduled = false;
    if (!this.open || this.done.length === 0) return;
    const oldest = this.inflight.keys().next();
    const low = oldest.done ? Number.POSITIVE_INFINITY : oldest.value;
    let highestBelow = -1;
    const above: number[] = [];
    for (const tag of this.done) {
      if (tag < low) highestBelow = Math.max(highestBelow, tag);
      else above.push(tag);
    }
    this.done = [];
    try {
      // Everything below `low` is settled, so one cumulative ack covers exactly our finished messages.
      if (highestBelow >= 0) this.channel.ack(tagOnly(highestBelow), true);
      for (const tag of above) this.channel.ack(tagOnly(tag));
    } catch {
      // Channel closed between the check and the write: the messages are redelivered.
    }
  };
}

const tagOnly = (deliveryTag: number) => ({ fields: { deliveryTag } }) as Message;
