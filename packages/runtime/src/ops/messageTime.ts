import { H, lastDeath, readDeadLetterStamp } from "../protocol/envelope.js";

/**
 * When a message was published or dead-lettered, from whatever it carries. Celery messages carry no
 * publish time of their own, so the sources are, in order: the AMQP `timestamp` property (seconds), the
 * `timestamp_in_ms` header RabbitMQ's message-timestamp interceptor adds, then for dead letters the
 * dead-letter stamp's time (envelope.ts) or the broker's `x-death` time.
 */
export interface MessageLike {
  properties: { timestamp?: unknown; headers?: Record<string, unknown> | undefined };
}

/** Publish time in ms since the epoch, or undefined when the message does not say. */
export function publishedAtMs(message: MessageLike): number | undefined {
  const stamp = toMs(message.properties.timestamp, "seconds");
  if (stamp !== undefined) return stamp;
  return toMs(message.properties.headers?.[H.timestampInMs], "ms");
}

/** When the message was dead-lettered, else when it was published. */
export function deadLetteredAtMs(message: MessageLike): number | undefined {
  const headers = message.properties.headers;
  const byWorker = readDeadLetterStamp(headers)?.deadLetteredAt;
  if (byWorker !== undefined) {
    const parsed = Date.parse(byWorker);
    if (!Number.isNaN(parsed)) return parsed;
  }
  const byBroker = toMs(lastDeath(headers)?.time, "seconds");
  return byBroker ?? publishedAtMs(message);
}

/** amqplib decodes AMQP timestamps as numbers (seconds); a Date or `{ value }` wrapper is also accepted. */
function toMs(value: unknown, unit: "seconds" | "ms"): number | undefined {
  let raw = value;
  if (raw instanceof Date) return raw.getTime();
  if (raw && typeof raw === "object" && "value" in raw) raw = (raw as { value: unknown }).value;
  if (typeof raw === "bigint") raw = Number(raw);
  if (typeof raw !== "number" || !Number.isFinite(raw) || raw <= 0) return undefined;
  return unit === "seconds" ? raw * 1_000 : raw;
}
