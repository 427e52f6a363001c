import { brokerDeliveries, lastDeath, readDeadLetterStamp, text } from "../protocol/envelope.js";
import { deadLetteredAtMs, type MessageLike } from "./messageTime.js";

/**
 * What one dead letter says about itself. Two kinds arrive in a dead-letter queue:
 * - worker dead letters (bad message, unknown task, permanent error, retries exhausted), republished by
 *   the worker with the dead-letter stamp (envelope.ts: reason, error, attempts, original routing key);
 * - broker dead letters (the quorum queue's delivery limit, a rejection), which only carry RabbitMQ's
 *   `x-death` header: reason, source queue, routing keys, count and time.
 */
export interface DeadLetterInfo {
  /** Celery task id (`id` header, else correlation id). */
  taskId: string | undefined;
  /** Task name (`task` header). */
  task: string | undefined;
  /** Who dead-lettered it: the toolbox worker (a dead-letter stamp) or the broker (x-death only). */
  origin: "worker" | "broker" | "unknown";
  /** `retries-exhausted`, `permanent-error`…, or the broker's `delivery_limit`, `rejected`, `expired`. */
  reason: string;
  errorClass: string | undefined;
  errorMessage: string | undefined;
  /** Times the task ran (worker), or deliveries the broker counted (x-delivery-count / x-death count). */
  attempts: number | undefined;
  /** The routing key a replay publishes with: the task name in this toolbox. */
  originalRoutingKey: string | undefined;
  deadLetteredAt: string | undefined;
  ageMs: number | undefined;
}

export interface DeadLetterMessage extends MessageLike {
  properties: MessageLike["properties"] & { correlationId?: unknown };
}

export function describeDeadLetter(message: DeadLetterMessage, now = Date.now()): DeadLetterInfo {
  const headers = message.properties.headers ?? {};
  const stamp = readDeadLetterStamp(headers);
  const death = lastDeath(headers);
  const at = deadLetteredAtMs(message);
  const routingKeys = death?.["routing-keys"];
  return {
    taskId: text(headers.id) ?? text(message.properties.correlationId),
    task: text(headers.task),
    origin: stamp ? "worker" : death ? "broker" : "unknown",
    reason: stamp?.reason ?? text(death?.reason) ?? "unknown",
    errorClass: stamp?.errorClass,
    errorMessage: stamp?.errorMessage,
    attempts: stamp?.attempts ?? brokerDeliveries(headers),
    originalRoutingKey:
      stamp?.originalRoutingKey ??
      (Array.isArray(routingKeys) ? text(routingKeys[0]) : undefined) ??
      text(headers.task),
    deadLetteredAt: at === undefined ? undefined : new Date(at).toISOString(),
    ageMs: at === undefined ? undefined : Math.max(0, now - at),
  };
}
