import type { ConsumeMessage } from "amqplib";
import type { AckTracker } from "../consumer/acks.js";

/** Settling a delivery twice: a bug, as kombu's MessageStateError says ("already acknowledged"). */
export class DeliveryStateError extends Error {
  constructor(tag: number, state: DeliveryState, attempted: "ack" | "giveBack") {
    super(`Delivery ${tag} was already settled (${state}); ${attempted}() cannot settle it again.`);
    this.name = "DeliveryStateError";
  }
}

export type DeliveryState = "unsettled" | "acked" | "given-back";

/**
 * One message taken from a queue, settled exactly once: `ack()` (its outcome is durable) or `giveBack()`
 * (it returns to the queue for another consumer; shutdown does this). A second settle throws
 * DeliveryStateError. Only the settle step of a consumer (delivery/settle.ts for the worker,
 * tracker/settleTracking.ts for the tracker) calls these.
 */
export class Delivery {
  #state: DeliveryState = "unsettled";

  constructor(
    readonly message: ConsumeMessage,
    private readonly acks: AckTracker,
  ) {
    acks.track(message);
  }

  get state(): DeliveryState {
    return this.#state;
  }

  get settled(): boolean {
    return this.#state !== "unsettled";
  }

  get tag(): number {
    return this.message.fields.deliveryTag;
  }

  /**
   * Fires when nothing done for this delivery can matter any more: its channel closed (the broker
   * redelivers it) or the consumer stopped retrying. Durable retries on its behalf watch it.
   */
  get stopped(): AbortSignal {
    return this.acks.stopped;
  }

  /**
   * Its channel closed (RabbitMQ's consumer_timeout, a channel error, a lost connection): it can no longer be
   * acked, and the broker has put the message back in the queue for another delivery.
   */
  get orphaned(): boolean {
    return this.acks.closed.aborted;
  }

  /** Acknowledge (coalesced with the acks of the same turn). */
  ack(): void {
    this.settle("acked", "ack");
    this.acks.ack(this.message);
  }

  /** Return the message to the queue now. */
  giveBack(): void {
    this.settle("given-back", "giveBack");
    this.acks.requeue(this.message);
  }

  private settle(state: DeliveryState, attempted: "ack" | "giveBack"): void {
    if (this.#state !== "unsettled") throw new DeliveryStateError(this.tag, this.#state, attempted);
    this.#state = state;
  }
}
