import type { ConsumeMessage } from "amqplib";

/**
 * Headers that say why a message was dead-lettered, so `worker-toolbox dlq list` can show it and
 * `dlq replay` can send it back where it came from.
 */
export function deadLetterHeaders(
  reason: string,
  error: Error,
  message: ConsumeMessage,
  by: string,
): Record<string, unknown> {
  const previous = Number(message.properties.headers?.["x-wt-attempts"] ?? 0);
  return {
    "x-wt-reason": reason,
    "x-wt-error-class": error.name,
    "x-wt-error-message": error.message.slice(0, 2_000),
    "x-wt-error-stack": (error.stack ?? "").slice(0, 4_000),
    "x-wt-attempts": previous + 1,
    "x-wt-original-exchange": message.fields.exchange,
    "x-wt-original-routing-key": message.fields.routingKey,
    "x-wt-dead-lettered-at": new Date().toISOString(),
    "x-wt-dead-lettered-by": by,
  };
}
