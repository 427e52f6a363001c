import { deadLetteredAtMs, firstDeath, type MessageLike } from "./messageTime.js";

/**
 * What one dead letter says about itself. Two kinds arrive in a dead-letter queue:
 * - worker dead letters (bad message, unknown task, permanent error, retries exhausted), republished by
 *   the worker with `x-wt-reason`, `x-wt-error-*`, `x-wt-attempts`, `x-wt-original-*`;
 * - broker dead letters (the quorum queue's delivery limit, a rejection), which only carry RabbitMQ's
 *   `x-death` header: reason, source queue, routing keys, count and time.
 */
export interface DeadLetterInfo {
  /** Celery task id (`id` header, else correlation id). */
  taskId: string | undefined;
  /** Task name (`task` header). */
  task: string | undefined;
  /** Who dead-lettered it: the toolbox worker (x-wt-*) or the broker (x-death only). */
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
  const death = firstDeath(headers);
  const workerReason = text(headers["x-wt-reason"]);
  const at = deadLetteredAtMs(message);
  const routingKeys = death?.["routing-keys"];
  return {
    taskId: text(headers.id) ?? text(message.properties.correlationId),
    task: text(headers.task),
    origin: workerReason ? "worker" : death ? "broker" : "unknown",
    reason: workerReason ?? text(death?.reason) ?? "unknown",
    errorClass: text(headers["x-wt-error-class"]),
    errorMessage: text(headers["x-wt-error-message"]),
    attempts: count(headers["x-wt-attempts"]) ?? count(headers["x-delivery-count"]) ?? count(death?.count),
    originalRoutingKey:
      text(headers["x-wt-original-routing-key"]) ??
      (Array.isArray(routingKeys) ? text(routingKeys[0]) : undefined) ??
      text(headers.task),
    deadLetteredAt: at === undefined ? undefined : new Date(at).toISOString(),
    ageMs: at === undefined ? undefined : Math.max(0, now - at),
  };
}

function text(value: unknown): string | undefined {
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return typeof value === "string" && value !== "" ? value : undefined;
}

function count(value: unknown): number | undefined {
  const number = typeof value === "bigint" ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) ? number : undefined;
}
