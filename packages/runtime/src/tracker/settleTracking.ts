import { isToolboxError } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { type DeadLetterTarget, publishDeadLetter } from "../consumer/deadLetter.js";
import type { DurableRetry } from "../consumer/transient.js";
import type { Delivery } from "../delivery/delivery.js";
import type { DeadLetter, GiveBack } from "../delivery/verdict.js";

/** A platform-queue copy's verdict: its tracking row is committed, or it is dead-lettered, or given back. */
export type TrackingVerdict = { kind: "stored" } | DeadLetter | GiveBack;

export interface TrackerStats {
  stored: number;
  deadLettered: number;
  /** Writes committed (a batch, or one row of a batch isolating a refused row). */
  readonly batches: number;
  /** Bytes of the platform-queue messages held now (delivered, not yet settled): tracker.maxInFlightBytes. */
  readonly heldBytes: number;
  /** The most bytes held at once since the tracker started. */
  readonly peakHeldBytes: number;
}

export interface TrackingSettleOptions {
  logger: Logger;
  publisher: ConfirmPublisher;
  retry: DurableRetry;
  stats: TrackerStats;
  /** `<prefix>.dead`, routing key `platform`. */
  target: DeadLetterTarget;
}

/**
 * The tracker's settle: the one place it acks. A stored copy is acked (its row is committed); a dead
 * letter is acked once the broker confirmed it; a copy neither can be done for (closing, the channel gone)
 * is given back to the queue, where it waits for the next tracker.
 */
export function trackingSettle(options: TrackingSettleOptions) {
  const { logger, publisher, retry, stats, target } = options;
  return async function settle(delivery: Delivery, verdict: TrackingVerdict): Promise<void> {
    if (verdict.kind === "stored") {
      stats.stored += 1;
      delivery.ack();
      return;
    }
    if (verdict.kind === "dead-letter") {
      logger.error(
        { reason: verdict.reason, err: verdict.error.message },
        "dead-lettering a platform message",
      );
      try {
        await retry.run(
          () => publishDeadLetter(publisher, target, delivery.message, verdict),
          delivery.stopped,
        );
      } catch (error) {
        return settle(delivery, { kind: "give-back", why: "unsettled", error });
      }
      stats.deadLettered += 1;
      delivery.ack();
      return;
    }
    const error = verdict.error as Error | undefined;
    const level = isToolboxError(error, "CLOSED") || delivery.stopped.aborted ? "debug" : "warn";
    logger[level]({ err: error?.message }, "tracking message not settled; it returns to the queue");
    delivery.giveBack();
  };
}
