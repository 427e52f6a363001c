/**
 * When a message was published or dead-lettered, from whatever it carries. Celery messages carry no
 * publish time of their own, so the sources are, in order: the AMQP `timestamp` property (seconds), the
 * `timestamp_in_ms` header RabbitMQ's message-timestamp interceptor adds, then for dead letters the
 * worker's `x-wt-dead-lettered-at` or the broker's `x-death` time.
 */
export interface MessageLike {
  properties: { timestamp?: unknown; headers?: Record<string, unknown> | undefined };
}

/** Publish time in ms since the epoch, or undefined when the message does not say. */
export function publishedAtMs(message: MessageLike): number | undefined {
  const stamp = toMs(message.properties.timestamp, "seconds");
  if (stamp !== undefined) return stamp;
  return toMs(message.properties.headers?.timestamp_in_ms, "ms");
}

/** When the message was dead-lettered, else when it was published. */
export function deadLetteredAtMs(message: MessageLike): number | undefined {
  const headers = message.properties.headers ?? {};
  const byWorker = headers["x-wt-dead-lettered-at"];
  if (typeof byWorker === "string") {
    const parsed = Date.parse(byWorker);
    if (!Number.isNaN(parsed)) return parsed;
  }
  const death = firstDeath(headers);
  const byBroker = toMs(death?.time, "seconds");
  return byBroker ?? publishedAtMs(message);
}

/** The most recent `x-death` entry (RabbitMQ puts it first), if any. */
export function firstDeath(headers: Record<string, unknown>): Record<string, unknown> | undefined {
  const deaths = headers["x-death"];
  if (!Array.isArray(deaths) || deaths.length === 0) return undefined;
  const first = deaths[0] as unknown;
  return first && typeof first === "object" ? (first as Record<string, unknown>) : undefined;
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
