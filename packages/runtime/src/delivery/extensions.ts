import type { PublishRequest } from "../broker/confirmPublisher.js";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import type { Delivery } from "./delivery.js";
import type { DeadLetter, Done, Verdict } from "./verdict.js";

/**
 * The two places the pipeline is extended, both optional (PipelineOptions):
 *
 * - FollowUps: messages that must be out before a delivery is acked. `settle` publishes what `plan`
 *   returns after the verdict's row is committed and before the ack, each confirmed by the broker through
 *   the durable retry, so a worker killed in between republishes them when the message is redelivered
 *   (a duplicate is harmless when the follow-up's task id is fixed in advance, as Celery's signatures do).
 *   Celery's canvas goes here: a chain's next step and `link` callbacks on success (Done, with the
 *   validated `value`), `link_error` errbacks on a final failure (DeadLetter).
 * - DeliveryObserver: told what happens, never asked. Celery events (task-received, task-started,
 *   task-succeeded/failed/retried/revoked) go here. Calls are synchronous and must not throw or block.
 */
export interface FollowUps {
  plan(
    verdict: Done | DeadLetter,
    delivery: Delivery,
  ): readonly PublishRequest[] | Promise<readonly PublishRequest[]>;
}

export interface DeliveryObserver {
  /** A task message was decoded and admitted to run or to wait for its eta. */
  received?(task: TaskMessage, delivery: Delivery): void;
  /** Its handler starts. */
  started?(task: TaskMessage, delivery: Delivery): void;
  /** The verdict was carried out (rows stored, publishes confirmed); the ack follows at once. */
  settled?(verdict: Verdict, delivery: Delivery): void;
}
