/**
 * The envelope: every AMQP header and property the toolbox writes or reads around a Celery task message
 * (Celery's own headers are listed in celeryMessage.ts). Nothing else in the runtime spells a header name:
 * the worker stamps dead letters here, `dlq` reads them back here, retries, delayed etas and replays drop
 * the same hop headers here.
 *
 *   H.tracking      producer → tracker: who asked for the task; travels with retries, etas and replays
 *   H.generation    which run of the task: 0 the original, n the n-th replay (set by a replay; travels with
 *                   the run's retries and dead letters, so all of a run's results belong to its generation)
 *   H.delay         the delay rung a parked message waits in (no `x-`: a headers exchange ignores those)
 *   H.reason …      the dead-letter stamp the worker and the tracker add (reason, error, attempts, origin)
 *   H.death …       RabbitMQ's own bookkeeping (x-death, x-first-death-*, delivery counters)
 */
import { DELAY_HEADER } from "@worker-toolbox/config";
import type { MessageProperties, Options } from "amqplib";

export const H = {
  tracking: "x-wt-tracking",
  generation: "x-wt-generation",
  delay: DELAY_HEADER,
  traceparent: "traceparent",
  tracestate: "tracestate",
  reason: "x-wt-reason",
  errorClass: "x-wt-error-class",
  errorMessage: "x-wt-error-message",
  errorStack: "x-wt-error-stack",
  attempts: "x-wt-attempts",
  originalExchange: "x-wt-original-exchange",
  originalRoutingKey: "x-wt-original-routing-key",
  deadLetteredAt: "x-wt-dead-lettered-at",
  deadLetteredBy: "x-wt-dead-lettered-by",
  death: "x-death",
  deliveryCount: "x-delivery-count",
  acquiredCount: "x-acquired-count",
  /** Added by RabbitMQ's message-timestamp interceptor. */
  timestampInMs: "timestamp_in_ms",
} as const;

/**
 * Why a message went to a dead-letter queue. The original body travels unchanged, with the reason in the
 * dead-letter stamp, so `worker-toolbox dlq` can show it and replay it to its routing key.
 */
export type DeadLetterReason =
  | "malformed"
  /** Bigger than `limits.maxMessageBytes`: never decoded, run or stored. */
  | "too-large"
  | "unknown-task"
  /** Another service's task (a binding outside the plan routed a copy here): no row, the owner's stands. */
  | "misrouted"
  | "invalid-arguments"
  | "permanent-error"
  | "retries-exhausted"
  /** The hard time limit fired: failed at once, never retried (as Celery). */
  | "time-limit"
  | "invalid-result"
  | "unstorable-result"
  /** The tracker: the tracking row for this platform-queue message was refused by the database. */
  | "unstorable-tracking";

/** What a dead letter says about itself (all of it written by `stampDeadLetter`). */
export interface DeadLetterStamp {
  reason: string;
  errorClass: string;
  errorMessage: string;
  errorStack: string;
  /** Times the task ran (0 when it never started: malformed, unknown, invalid arguments). */
  attempts: number;
  originalExchange: string;
  originalRoutingKey: string;
  /** ISO-8601. */
  deadLetteredAt: string;
  deadLetteredBy: string;
}

const MAX_MESSAGE = 2_000;
const MAX_STACK = 4_000;

/** The message's headers plus the dead-letter stamp. */
export function stampDeadLetter(
  headers: Record<string, unknown> | undefined,
  letter: { reason: DeadLetterReason; error: Error; attempts: number },
  origin: { exchange: string; routingKey: string; by: string; at?: Date },
): Record<string, unknown> {
  return {
    ...headers,
    [H.reason]: letter.reason,
    [H.errorClass]: letter.error.name || "Error",
    [H.errorMessage]: String(letter.error.message).slice(0, MAX_MESSAGE),
    [H.errorStack]: (letter.error.stack ?? "").slice(0, MAX_STACK),
    [H.attempts]: letter.attempts,
    [H.originalExchange]: origin.exchange,
    [H.originalRoutingKey]: origin.routingKey,
    [H.deadLetteredAt]: (origin.at ?? new Date()).toISOString(),
    [H.deadLetteredBy]: origin.by,
  };
}

/** The stamp `stampDeadLetter` wrote, or undefined when the message has none (a broker dead letter). */
export function readDeadLetterStamp(
  headers: Record<string, unknown> | undefined,
): Partial<DeadLetterStamp> | undefined {
  const h = headers ?? {};
  const reason = text(h[H.reason]);
  if (reason === undefined) return undefined;
  return {
    reason,
    errorClass: text(h[H.errorClass]),
    errorMessage: text(h[H.errorMessage]),
    errorStack: text(h[H.errorStack]),
    attempts: count(h[H.attempts]),
    originalExchange:
      typeof h[H.originalExchange] === "string" ? (h[H.originalExchange] as string) : undefined,
    originalRoutingKey: text(h[H.originalRoutingKey]),
    deadLetteredAt: text(h[H.deadLetteredAt]),
    deadLetteredBy: text(h[H.deadLetteredBy]),
  };
}

/** The most recent `x-death` entry (RabbitMQ puts it first), if any. */
export function lastDeath(headers: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const deaths = headers?.[H.death];
  if (!Array.isArray(deaths) || deaths.length === 0) return undefined;
  const first = deaths[0] as unknown;
  return first && typeof first === "object" ? (first as Record<string, unknown>) : undefined;
}

/** Broker delivery counters: the quorum queue's, else the number of deaths in the latest x-death entry. */
export function brokerDeliveries(headers: Record<string, unknown> | undefined): number | undefined {
  return count(headers?.[H.deliveryCount]) ?? count(lastDeath(headers)?.count);
}

/**
 * The one strip list. A message sent again (a retry, a delayed eta parked in a rung, a dead letter
 * replayed) drops what belonged to its previous hop: RabbitMQ's death bookkeeping and delivery counters,
 * the dead-letter stamp, the delay rung and the timestamp interceptor's stamp. Everything else stays,
 * in particular the tracking metadata (`x-wt-tracking`), the generation (a replay sets a new one with
 * `withGeneration`) and the trace context.
 */
export function isHopHeader(name: string): boolean {
  if (name.startsWith("x-wt-")) return name !== H.tracking && name !== H.generation;
  return (
    name === H.death ||
    name.startsWith("x-first-death-") ||
    name.startsWith("x-last-death-") ||
    name === H.deliveryCount ||
    name === H.acquiredCount ||
    name === H.delay ||
    name === H.timestampInMs
  );
}

/** `headers` without the hop headers (see `isHopHeader`). */
export function resendHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(headers ?? {})) if (!isHopHeader(name)) out[name] = headers![name];
  return out;
}

/** The generation a message's run belongs to: its `x-wt-generation`, 0 when absent or not a count. */
export function readGeneration(headers: Record<string, unknown> | undefined): number {
  const generation = count(headers?.[H.generation]);
  return generation !== undefined && Number.isInteger(generation) && generation > 0 ? generation : 0;
}

/** `headers` with the generation a replay gives its copy. */
export function withGeneration(
  headers: Record<string, unknown>,
  generation: number,
): Record<string, unknown> {
  return { ...headers, [H.generation]: generation };
}

/**
 * The metadata a tracking row keeps: the producer's `x-wt-tracking` object merged over the plain headers a
 * Python producer may add. Broker and toolbox bookkeeping (`x-…`) and the trace context are not metadata.
 */
export function trackingMetadata(extraHeaders: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extraHeaders)) {
    if (!key.startsWith("x-") && key !== H.traceparent && key !== H.tracestate) out[key] = value;
  }
  const fromProducer = extraHeaders[H.tracking];
  if (fromProducer && typeof fromProducer === "object" && !Array.isArray(fromProducer)) {
    Object.assign(out, fromProducer);
  }
  return out;
}

/**
 * The original properties for a republish: no `expiration` (a dead letter or delayed message must not
 * silently expire on the way) and no `userId` (the broker checks it against the publishing user).
 */
export function republishProperties(
  message: { properties: Partial<MessageProperties> },
  headers: Record<string, unknown>,
): Options.Publish {
  const p = message.properties;
  const properties: Options.Publish = { deliveryMode: 2, headers };
  if (p.contentType !== undefined) properties.contentType = p.contentType;
  if (p.contentEncoding !== undefined) properties.contentEncoding = p.contentEncoding;
  if (p.correlationId !== undefined) properties.correlationId = p.correlationId;
  if (p.priority !== undefined) properties.priority = p.priority;
  if (p.replyTo !== undefined) properties.replyTo = p.replyTo;
  if (p.type !== undefined) properties.type = p.type;
  if (p.appId !== undefined) properties.appId = p.appId;
  if (p.timestamp !== undefined) properties.timestamp = p.timestamp;
  return properties;
}

/** A header as text: strings (non-empty) and byte arrays (amqplib decodes AMQP byte arrays to Buffers). */
export function text(value: unknown): string | undefined {
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A header as a finite number (amqplib may hand 64-bit integers over as bigint). */
export function count(value: unknown): number | undefined {
  const number = typeof value === "bigint" ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) ? number : undefined;
}
