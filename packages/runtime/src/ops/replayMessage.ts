import type { Options } from "amqplib";
import type { PublishRequest } from "../broker/confirmPublisher.js";
import { republishProperties, resendHeaders, withGeneration } from "../protocol/envelope.js";
import { describeDeadLetter } from "./deadLetterInfo.js";
import type { MessageLike } from "./messageTime.js";

/**
 * The publish that replays a dead letter: its original body to the task exchange with its original
 * routing key (the task name), as a fresh first attempt. What the failed run added is stripped (the
 * envelope's one strip list: the dead-letter stamp, the broker's death headers and delivery counters, the
 * delay rung) so the replayed task is indistinguishable from a new send of the same task id, and the
 * Celery `retries` count goes back to 0. Tracking metadata and trace context stay. No `expiration` (it may
 * have passed while the message sat in the dead-letter queue) and a fresh `timestamp`, so queue-age alarms
 * measure time since the replay.
 */
export interface ReplayableMessage extends MessageLike {
  content: Buffer;
  properties: MessageLike["properties"] & Partial<Omit<Options.Publish, "headers">>;
}

export function replayHeaders(headers: Record<string, unknown> = {}): Record<string, unknown> {
  const out = resendHeaders(headers);
  // Only Celery task messages have a retry count to reset (they always carry `task`).
  if (typeof out.task === "string") out.retries = 0;
  return out;
}

/**
 * `exchange` is `<prefix>.tasks` for service dead letters; the platform's dead letters go straight back
 * to the platform queue (exchange "", routing key = queue), since a trip through the task exchange would
 * run the task a second time. `generation`: the new generation the replayed run belongs to (its writes
 * replace the row's earlier outcome). Returns undefined when the message names no routing key at all.
 */
export function replayRequest(
  message: ReplayableMessage,
  target: { exchange: string; routingKey?: string },
  now = Date.now(),
  generation?: number,
): PublishRequest | undefined {
  const routingKey = target.routingKey ?? describeDeadLetter(message).originalRoutingKey;
  if (!routingKey) return undefined;
  const headers = replayHeaders(message.properties.headers);
  const properties = republishProperties(
    message,
    generation === undefined ? headers : withGeneration(headers, generation),
  );
  properties.timestamp = Math.floor(now / 1_000);
  return { exchange: target.exchange, routingKey, content: message.content, properties };
}
