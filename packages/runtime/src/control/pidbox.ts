/**
 * Celery's remote control ("pidbox", kombu/pidbox.py + celery/app/control.py) as TypeScript sees it: the
 * requests `app.control.inspect()`, `app.control.revoke()` and `celery inspect` publish, and the replies
 * they read. Pure; the worker consumes and publishes.
 *
 *   request  JSON on the fanout exchange `<control_exchange>.pidbox` (non-durable), headers `clock` and
 *            `expires` (seconds since the epoch; 0: none):
 *            {method, arguments, destination, pattern, matcher, ticket?, reply_to?: {exchange, routing_key}}
 *   reply    JSON `{<node name>: <reply>}` on the direct exchange `reply.<control_exchange>.pidbox`
 *            (non-durable), routing key `reply_to.routing_key`, headers `ticket` and `clock`, transient
 *
 * Each worker consumes its own queue `<node name>.<control_exchange>.pidbox`. Celery declares its nodes'
 * non-durable, auto-delete, `x-expires` 10 s and `x-message-ttl` 300 s (control_queue_expires /
 * control_queue_ttl); a TypeScript worker declares its own exclusive instead (the topology plan's
 * `workerQueues`), since RabbitMQ 4.3 refuses transient non-exclusive queues.
 */
export interface PidboxNames {
  /** Where requests are broadcast. */
  exchange: string;
  /** Where replies go. */
  replyExchange: string;
  /** A node's own queue. */
  queue(nodeName: string): string;
  /** Arguments Celery gives a node's queue and a reply queue (control_queue_expires / control_queue_ttl). */
  queueArguments: { "x-expires": number; "x-message-ttl": number };
}

export function pidboxNames(controlExchange: string): PidboxNames {
  return {
    exchange: `${controlExchange}.pidbox`,
    replyExchange: `reply.${controlExchange}.pidbox`,
    queue: (nodeName) => `${nodeName}.${controlExchange}.pidbox`,
    queueArguments: { "x-expires": 10_000, "x-message-ttl": 300_000 },
  };
}

export interface ControlRequest {
  method: string;
  arguments: Record<string, unknown>;
  /** Node names the request is for; null: every node. */
  destination: string[] | null;
  pattern: string | null;
  matcher: string | null;
  /** Set when the sender waits for replies. */
  ticket: string | null;
  replyTo: { exchange: string; routingKey: string } | null;
  /** Seconds since the epoch after which the request is stale; null: never. */
  expires: number | null;
  /** The sender's Lamport clock. */
  clock: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);
const text = (value: unknown) => (typeof value === "string" ? value : null);

/** A pidbox request, or undefined for anything that is not one (ignored, as kombu's Node does). */
export function decodeControlRequest(
  content: Buffer,
  headers: Record<string, unknown> | undefined,
): ControlRequest | undefined {
  let body: unknown;
  try {
    body = JSON.parse(content.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isRecord(body) || typeof body.method !== "string") return undefined;
  const replyTo = isRecord(body.reply_to) ? body.reply_to : undefined;
  const expires = Number(headers?.expires ?? 0);
  const destination = Array.isArray(body.destination)
    ? body.destination.filter((name): name is string => typeof name === "string")
    : null;
  return {
    method: body.method,
    arguments: isRecord(body.arguments) ? body.arguments : {},
    destination,
    pattern: text(body.pattern),
    matcher: text(body.matcher),
    ticket: text(body.ticket),
    replyTo:
      replyTo && typeof replyTo.exchange === "string" && typeof replyTo.routing_key === "string"
        ? { exchange: replyTo.exchange, routingKey: replyTo.routing_key }
        : null,
    expires: Number.isFinite(expires) && expires > 0 ? expires : null,
    clock: Number(headers?.clock ?? 0) || 0,
  };
}

/** Whether `nodeName` should handle the request now (kombu's `Node.handle_message` plus the expiry). */
export function isForNode(request: ControlRequest, nodeName: string, nowMs = Date.now()): boolean {
  if (request.expires !== null && nowMs / 1_000 > request.expires) return false;
  if (request.destination && request.destination.length > 0) return request.destination.includes(nodeName);
  if (request.pattern && request.matcher) return matches(nodeName, request.pattern, request.matcher);
  return true;
}

/** kombu.utils.text `match`: `glob` (fnmatch) or `pcre` (a regular expression searched from the start). */
function matches(name: string, pattern: string, matcher: string): boolean {
  if (matcher === "pcre") {
    try {
      return new RegExp(`^(?:${pattern})`).test(name);
    } catch {
      return false;
    }
  }
  if (matcher !== "glob") return false;
  const source = [...pattern]
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`).test(name);
}

export interface ControlReplyMessage {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: {
    contentType: "application/json";
    contentEncoding: "utf-8";
    deliveryMode: 1;
    headers: { ticket: string | null; clock: number };
  };
}

/** The reply to a request that asked for one, or undefined when it did not (a cast). */
export function controlReply(
  request: ControlRequest,
  nodeName: string,
  reply: unknown,
  clock: number,
): ControlReplyMessage | undefined {
  if (!request.replyTo) return undefined;
  return {
    exchange: request.replyTo.exchange,
    routingKey: request.replyTo.routingKey,
    content: Buffer.from(JSON.stringify({ [nodeName]: reply })),
    properties: {
      contentType: "application/json",
      contentEncoding: "utf-8",
      deliveryMode: 1,
      headers: { ticket: request.ticket, clock },
    },
  };
}

/** A control request as `app.control` publishes it (for TypeScript callers: `worker-toolbox` revoke, ping). */
export function encodeControlRequest(
  method: string,
  args: Record<string, unknown>,
  options: {
    destination?: string[];
    reply?: { ticket: string; exchange: string; routingKey: string };
    clock: number;
    timeoutS?: number;
    nowMs?: number;
  },
): { content: Buffer; headers: { clock: number; expires: number } } {
  const body: Record<string, unknown> = {
    method,
    arguments: args,
    destination: options.destination ?? null,
    pattern: null,
    matcher: null,
  };
  if (options.reply) {
    body.ticket = options.reply.ticket;
    body.reply_to = { exchange: options.reply.exchange, routing_key: options.reply.routingKey };
  }
  const now = (options.nowMs ?? Date.now()) / 1_000;
  return {
    content: Buffer.from(JSON.stringify(body)),
    headers: { clock: options.clock, expires: options.timeoutS ? now + options.timeoutS : 0 },
  };
}
