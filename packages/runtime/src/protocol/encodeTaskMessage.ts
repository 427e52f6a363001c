/**
 * TaskMessage → AMQP content + properties, exactly as Celery 5.6 publishes a task (protocol v2, JSON).
 */
import { ToolboxError } from "@worker-toolbox/config";
import { CELERY_HEADERS, type TaskMessage } from "./celeryMessage.js";
import { formatIsoDateTime, isPythonYear } from "./isoDateTime.js";
import { encodeJson } from "./kombuJson.js";
import { argsRepr, kwargsRepr } from "./repr.js";

/** The subset of amqplib's `Options.Publish` a task message sets. */
export interface PublishProperties {
  contentType: "application/json";
  contentEncoding: "utf-8";
  correlationId: string;
  deliveryMode: 2;
  priority: number;
  /** Per-message TTL in ms (RabbitMQ drops it unconsumed after that), set when `expires` is. */
  expiration?: string;
  headers: Record<string, unknown>;
}

export interface EncodeOptions {
  /** Reject a body larger than this many bytes (MESSAGE_TOO_LARGE). */
  maxBytes?: number;
  /** The clock for `expiration` (tests). */
  now?: Date;
}

const RESERVED = new Set<string>(CELERY_HEADERS);

function invalid(
  msg: Pick<TaskMessage, "task" | "id">,
  field: string,
  why: string,
  hint?: string,
): ToolboxError {
  return new ToolboxError(
    "MESSAGE_INVALID",
    `Task message ${msg.task} (${msg.id}): ${field} ${why}.`,
    hint ? { hint } : {},
  );
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
// amqplib guesses a header number's AMQP type: whole numbers (and anything of magnitude >= 2^50) go out
// as 64-bit integers and fail or lose precision past 2^53, so only numbers it sends intact are allowed.
const isHeaderNumber = (n: unknown): n is number =>
  typeof n === "number" && (Number.isSafeInteger(n) || (Number.isFinite(n) && Math.abs(n) < 2 ** 50));

function checkDate(msg: TaskMessage, field: "eta" | "expires"): string | null {
  const date = msg[field];
  if (date === null) return null;
  if (!(date instanceof Date) || Number.isNaN(date.getTime()) || !isPythonYear(date)) {
    throw invalid(msg, field, "is not a valid Date between years 1 and 9999");
  }
  return formatIsoDateTime(date);
}

// amqplib field tables carry strings, numbers, booleans, null, arrays, plain objects and Buffers; an
// object with a "!" key is amqplib's type trapdoor, so it would not arrive as written.
function checkHeaderValue(msg: TaskMessage, path: string, value: unknown, depth = 0): void {
  if (value === null || typeof value === "string" || typeof value === "boolean" || Buffer.isBuffer(value))
    return;
  if (isHeaderNumber(value)) return;
  if (depth < 20 && Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkHeaderValue(msg, `${path}[${i}]`, v, depth + 1);
    return;
  }
  if (
    depth < 20 &&
    value &&
    typeof value === "object" &&
    Object.getPrototypeOf(value) === Object.prototype &&
    !("!" in value)
  ) {
    for (const [k, v] of Object.entries(value)) checkHeaderValue(msg, `${path}.${k}`, v, depth + 1);
    return;
  }
  throw invalid(
    msg,
    path,
    "is not an AMQP header value",
    "use strings, numbers (whole ones within ±2^53, others within ±2^50), booleans, null, arrays or plain objects (no '!' key)",
  );
}

function checkFields(msg: TaskMessage): void {
  for (const field of ["id", "task", "rootId", "origin"] as const) {
    if (typeof msg[field] !== "string" || (field !== "origin" && msg[field] === "")) {
      throw invalid(msg, field, "must be a non-empty string");
    }
  }
  for (const field of ["parentId", "group", "shadow"] as const) {
    if (msg[field] !== null && typeof msg[field] !== "string")
      throw invalid(msg, field, "must be a string or null");
  }
  if (!isCount(msg.retries)) throw invalid(msg, "retries", `is ${msg.retries}, not a non-negative integer`);
  if (msg.groupIndex !== null && !isCount(msg.groupIndex))
    throw invalid(msg, "groupIndex", "must be a non-negative integer or null");
  if (!isCount(msg.priority) || msg.priority > 255) {
    throw invalid(msg, "priority", `is ${msg.priority}, outside 0-255`, "AMQP priorities are integers 0-255");
  }
  for (const which of ["hard", "soft"] as const) {
    const limit = msg.timeLimit?.[which];
    if (limit !== null && !(isHeaderNumber(limit) && limit >= 0)) {
      throw invalid(msg, `timeLimit.${which}`, "must be a non-negative number of seconds or null");
    }
  }
  if (typeof msg.ignoreResult !== "boolean") throw invalid(msg, "ignoreResult", "must be a boolean");
  if (!Array.isArray(msg.args)) throw invalid(msg, "args", "must be an array");
  const kwargs = msg.kwargs as unknown;
  if (!kwargs || typeof kwargs !== "object" || Array.isArray(kwargs))
    throw invalid(msg, "kwargs", "must be a plain object");
  for (const name of Object.keys(msg.extraHeaders)) {
    const value = msg.extraHeaders[name];
    if (RESERVED.has(name)) {
      throw invalid(
        msg,
        `extraHeaders.${name}`,
        "would override a Celery header",
        "rename it, or set the TaskMessage field instead",
      );
    }
    // amqplib (like most AMQP clients) decodes header tables into plain objects, where `__proto__`
    // would set the prototype instead of a header: such a header cannot survive the trip.
    if (name === "__proto__")
      throw invalid(
        msg,
        "extraHeaders.__proto__",
        "cannot be carried: AMQP clients decode it as a prototype",
      );
    if (name.length === 0 || Buffer.byteLength(name) > 255)
      throw invalid(msg, `extraHeaders[${JSON.stringify(name)}]`, "is not a valid header name (1-255 bytes)");
    checkHeaderValue(msg, `extraHeaders.${name}`, value);
  }
}

// A task that is not part of a workflow (almost every task a producer sends) has this embed.
const NO_WORKFLOW = '{"callbacks": null, "errbacks": null, "chain": null, "chord": null}';

function encodeEmbed({ callbacks, errbacks, chain, chord }: TaskMessage["embed"]): string {
  if (callbacks === null && errbacks === null && chain === null && chord === null) return NO_WORKFLOW;
  return encodeJson({ callbacks, errbacks, chain, chord }, "embed");
}

export function encodeTaskMessage(
  msg: TaskMessage,
  opts: EncodeOptions = {},
): { content: Buffer; properties: PublishProperties } {
  checkFields(msg);
  const eta = checkDate(msg, "eta");
  const expires = checkDate(msg, "expires");
  // Encoded in three parts so an error names `args[1].when`, not `$[0][1].when`; separators as json.dumps.
  const body = `[${encodeJson(msg.args, "args")}, ${encodeJson(msg.kwargs, "kwargs")}, ${encodeEmbed(msg.embed)}]`;
  const content = Buffer.from(body, "utf8");
  if (opts.maxBytes !== undefined && content.length > opts.maxBytes) {
    throw new ToolboxError(
      "MESSAGE_TOO_LARGE",
      `Task message ${msg.task} (${msg.id}) is ${content.length} bytes; the limit is ${opts.maxBytes} bytes.`,
      { hint: "pass ids of stored objects instead of the objects, or raise limits.maxMessageBytes" },
    );
  }
  const headers: Record<string, unknown> = {
    // Celery workers never read `lang` (celery/worker/request.py); we write "py" so the headers are the
    // same as a Python producer's and tools that display or compare them treat both alike.
    lang: "py",
    task: msg.task,
    id: msg.id,
    shadow: msg.shadow,
    eta,
    expires,
    group: msg.group,
    group_index: msg.groupIndex,
    retries: msg.retries,
    timelimit: [msg.timeLimit.hard, msg.timeLimit.soft],
    root_id: msg.rootId,
    parent_id: msg.parentId,
    argsrepr: argsRepr(msg.args),
    kwargsrepr: kwargsRepr(msg.kwargs),
    origin: msg.origin,
    ignore_result: msg.ignoreResult,
    // Order as captured from Celery 5.6.3 (anchors-mission.md §3.4).
    replaced_task_nesting: 0,
    stamped_headers: null,
    stamps: {},
    ...msg.extraHeaders,
  };
  const properties: PublishProperties = {
    contentType: "application/json",
    contentEncoding: "utf-8",
    correlationId: msg.id,
    deliveryMode: 2,
    priority: msg.priority,
    headers,
  };
  if (msg.expires) {
    // kombu: str(int(seconds * 1000)), negative clamped to 0 by Celery.
    const now = opts.now?.getTime() ?? Date.now();
    properties.expiration = String(Math.max(0, Math.trunc(msg.expires.getTime() - now)));
  }
  return { content, properties };
}
