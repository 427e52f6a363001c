/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for task messages. A message carries a
 * `traceparent` header (`00-<trace id>-<parent span id>-<flags>`) so a task's logs join its producer's
 * trace. The toolbox records no spans itself; it keeps the trace id flowing so that every task, its
 * retries and the follow-ups it sends can be correlated, and so a tracing SDK in the handler can pick up.
 */
import { randomFillSync } from "node:crypto";

export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the span that sent the message. */
  spanId: string;
  /** 2 hex digits; `01` = sampled. */
  flags: string;
}

// Version 00 is exactly 55 characters; a later version may append fields after another dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A trace header as text: amqplib hands some string headers over as Buffers (both are ASCII). */
export function headerText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("latin1");
  return undefined;
}

/** The trace context in a `traceparent` header value, or undefined when it is absent or invalid. */
export function parseTraceparent(value: unknown): TraceContext | undefined {
  const text = headerText(value) ?? "";
  const match = TRACEPARENT.exec(text.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === "ff" || (version === "00" && text.trim().length !== 55)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags };
}

export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.flags}`;
}

/**
 * The trace id a task without trace context belongs to: its root task id without dashes (a random UUID is
 * a valid trace id), so a workflow started without tracing still shares one id, found by either value.
 * Undefined when the root id is not a UUID (Celery allows any string).
 */
export function rootTraceId(rootId: string): string | undefined {
  // Ids are usually randomUUID()'s, already lower case: lower-case only the others.
  let lower = rootId;
  if (!UUID.test(lower)) {
    lower = rootId.toLowerCase();
    if (!UUID.test(lower)) return undefined;
  }
  const hex = lower.replaceAll("-", "");
  return hex === ZERO_TRACE ? undefined : hex;
}

/**
 * A new trace for a task sent without one: the trace id is the root task's id (see `rootTraceId`),
 * random when that is not a UUID. Flags say sampled, so a tracing consumer records its spans; the
 * producer itself records none.
 */
export function startTraceparent(rootId?: string): string {
  const traceId = (rootId !== undefined ? rootTraceId(rootId) : undefined) ?? randomHex(16);
  return formatTraceparent({ traceId, spanId: randomHex(8), flags: "01" });
}

/**
 * The `traceparent` for a message sent while handling a task: the same trace id and flags with a new
 * span id. Without a valid parent header, the trace of `rootId` (or a new one) is started.
 */
export function childTraceparent(parent: unknown, rootId?: string): string {
  const context = parseTraceparent(parent);
  if (!context) return startTraceparent(rootId);
  return formatTraceparent({ traceId: context.traceId, spanId: randomHex(8), flags: context.flags });
}

/** The trace id of a received task: its header's, else its root id's (see `rootTraceId`). */
export function traceIdOf(traceparent: unknown, rootId: string): string | undefined {
  return parseTraceparent(traceparent)?.traceId ?? rootTraceId(rootId);
}

// randomBytes() per message costs microseconds (a call into the OS each time); like randomUUID(), draw ids
// from a pool refilled a few kilobytes at a time. Span and trace ids need to be unique, not secret.
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const hex = pool.toString("hex", used, used + bytes);
    used += bytes;
    // All zeros is the invalid value; one chance in 2^64 or less, but cheap to rule out.
    if (hex !== ZERO_SPAN && hex !== ZERO_TRACE) return hex;
  }
}
