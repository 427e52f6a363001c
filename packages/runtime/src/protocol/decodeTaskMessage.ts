/**
 * AMQP content + properties → TaskMessage. Lenient where a Celery worker is (headers it reads with
 * `.get()` may be missing), strict where it would fail (no `task`/`id`, a body that is not
 * `[args, kwargs, embed]`). Protocol v1 messages (task and id in the body, no `task` header) are
 * rejected with that reason: Celery has sent v2 by default since 4.0.
 *
 * What decodes can be stored: ids and names longer than Celery's result columns (155 characters) and
 * retry counts beyond its integer column are refused here, where the message can still be dead-lettered
 * with the reason, rather than by the database after the task ran.
 */
import { ToolboxError } from "@worker-toolbox/config";
import { CELERY_HEADERS, type TaskMessage } from "./celeryMessage.js";
import { parseIsoDateTime } from "./isoDateTime.js";
import { decodeJson } from "./kombuJson.js";
import { rememberReceived } from "./receivedJson.js";

/** What amqplib's `MessageProperties` provides (all optional here). */
export interface IncomingProperties {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  headers?: Record<string, unknown> | undefined;
  correlationId?: string | undefined;
  priority?: number | undefined;
}

function malformed(why: string, hint?: string): ToolboxError {
  return new ToolboxError(
    "MESSAGE_MALFORMED",
    `Not a Celery protocol v2 JSON task message: ${why}.`,
    hint ? { hint } : {},
  );
}

const KNOWN = new Set<string>(CELERY_HEADERS);
const utf8 = new TextDecoder("utf-8", { fatal: true });
const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
/** Celery's `varchar(155)` columns (task_id, name, root_id, parent_id) and its `integer` retries column. */
const MAX_COLUMN_CHARS = 155;
const MAX_RETRIES = 2 ** 31 - 1;
const fitsColumn = (s: string) => s.length <= MAX_COLUMN_CHARS || [...s].length <= MAX_COLUMN_CHARS;

function checkColumn(name: string, value: string | null): void {
  if (value !== null && !fitsColumn(value))
    throw malformed(`header ${name} is longer than ${MAX_COLUMN_CHARS} characters (Celery's result column)`);
}
const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const show = (v: unknown) => {
  try {
    return JSON.stringify(v)?.slice(0, 80) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
};

function optionalString(headers: Record<string, unknown>, name: string): string | null {
  const value = headers[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw malformed(`header ${name} is ${show(value)}, not a string or null`);
  return value;
}

function optionalDate(headers: Record<string, unknown>, name: string): Date | null {
  const text = optionalString(headers, name);
  if (text === null) return null;
  const date = parseIsoDateTime(text);
  if (!date) throw malformed(`header ${name} is ${show(text)}, not an ISO-8601 datetime`);
  return date;
}

function timeLimit(value: unknown): TaskMessage["timeLimit"] {
  if (value === undefined || value === null) return { hard: null, soft: null };
  const ok = (v: unknown) => v === null || (typeof v === "number" && Number.isFinite(v) && v >= 0);
  // The worker unpacks `time_limit, soft_time_limit = timelimit`: exactly two entries, [hard, soft].
  if (!Array.isArray(value) || value.length !== 2 || !ok(value[0]) || !ok(value[1])) {
    throw malformed(`header timelimit is ${show(value)}, not [hard, soft] (each seconds or null)`);
  }
  return { hard: value[0] as number | null, soft: value[1] as number | null };
}

function parseBody(content: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(content);
  } catch {
    throw malformed("the body is not valid UTF-8");
  }
  try {
    return decodeJson(text, "body");
  } catch (error) {
    throw malformed(`the body is not Kombu JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function embedList(embed: Record<string, unknown>, name: string): unknown[] | null {
  const value = embed[name];
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw malformed(`body[2].${name} is ${show(value)}, not a list or null`);
  return value;
}

export function decodeTaskMessage(content: Buffer, properties: IncomingProperties): TaskMessage {
  const headers = taskHeaders(content, properties);
  const id = headers.id;
  const { args, kwargs, links } = bodyParts(content);
  const retries = headers.retries ?? 0;
  if (!isCount(retries) || retries > MAX_RETRIES)
    throw malformed(`header retries is ${show(retries)}, not an integer from 0 to ${MAX_RETRIES}`);
  const groupIndex = headers.group_index ?? null;
  if (groupIndex !== null && !isCount(groupIndex))
    throw malformed(`header group_index is ${show(groupIndex)}, not an index`);
  const priority = properties.priority ?? 0;
  if (!isCount(priority) || priority > 255) throw malformed(`priority is ${show(priority)}, outside 0-255`);
  const ignoreResult = headers.ignore_result ?? false;
  if (typeof ignoreResult !== "boolean")
    throw malformed(`header ignore_result is ${show(ignoreResult)}, not a boolean`);
  // Messages from before root_id existed are their own root.
  const rootId = optionalString(headers, "root_id") ?? id;
  const parentId = optionalString(headers, "parent_id");
  checkColumn("task", headers.task);
  checkColumn("id", id);
  checkColumn("root_id", rootId);
  checkColumn("parent_id", parentId);
  return {
    id,
    task: headers.task,
    args,
    kwargs,
    retries,
    eta: optionalDate(headers, "eta"),
    expires: optionalDate(headers, "expires"),
    rootId,
    parentId,
    group: optionalString(headers, "group"),
    groupIndex,
    timeLimit: timeLimit(headers.timelimit),
    shadow: optionalString(headers, "shadow"),
    origin: optionalString(headers, "origin") ?? "",
    ignoreResult,
    priority,
    embed: {
      callbacks: embedList(links, "callbacks"),
      errbacks: embedList(links, "errbacks"),
      chain: embedList(links, "chain"),
      chord: links.chord ?? null,
    },
    extraHeaders: extraHeadersOf(headers),
  };
}

/** The properties and headers a Celery worker needs before it looks at the body: JSON, utf-8, task, id. */
function taskHeaders(
  content: Buffer,
  properties: IncomingProperties,
): Record<string, unknown> & { task: string; id: string } {
  const contentType = properties.contentType;
  if (contentType !== undefined && contentType !== "application/json") {
    throw malformed(
      `content type is ${show(contentType)}, not application/json`,
      "send with Celery's task_serializer='json'",
    );
  }
  const encoding = properties.contentEncoding;
  if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
    throw malformed(`content encoding is ${show(encoding)}, not utf-8`);
  }
  const headers = properties.headers ?? {};
  if (!isRecord(headers)) throw malformed("the headers are not a table");
  if (headers.compression !== undefined) {
    throw malformed(
      `the body is compressed (${show(headers.compression)})`,
      "send without Celery's task_compression",
    );
  }
  if (headers.task === undefined) throw missingTask(content);
  if (typeof headers.task !== "string" || headers.task === "")
    throw malformed(`header task is ${show(headers.task)}, not a name`);
  if (typeof headers.id !== "string" || headers.id === "")
    throw malformed(`header id is ${show(headers.id)}, not a task id`);
  return headers as Record<string, unknown> & { task: string; id: string };
}

/** No task header: protocol v1 (task and id in the body) says so; anything else says the header is missing. */
function missingTask(content: Buffer): ToolboxError {
  let body: unknown;
  try {
    body = parseBody(content);
  } catch {
    // Not JSON either: the missing header is the first thing wrong.
  }
  if (isRecord(body) && "task" in body && "id" in body) {
    return malformed(
      "it is protocol v1 (task and id in the body)",
      "send with Celery's task_protocol=2 (the default)",
    );
  }
  return malformed("the task header is missing");
}

/** The worker does `args, kwargs, embed = body`: exactly three entries; Celery applies `**(embed or {})`. */
function bodyParts(content: Buffer): {
  args: unknown[];
  kwargs: Record<string, unknown>;
  links: Record<string, unknown>;
} {
  const body = parseBody(content);
  if (!Array.isArray(body) || body.length !== 3) throw malformed("the body is not [args, kwargs, embed]");
  const [args, kwargs, embed = null] = body as [unknown, unknown, unknown];
  if (!Array.isArray(args)) throw malformed(`body[0] (args) is ${show(args)}, not a list`);
  if (!isRecord(kwargs)) throw malformed(`body[1] (kwargs) is ${show(kwargs)}, not an object`);
  // null is accepted and means no links.
  if (embed !== null && !isRecord(embed))
    throw malformed(`body[2] (embed) is ${show(embed)}, not an object or null`);
  // Storage may reuse the arguments' text instead of encoding them again (receivedJson.ts).
  rememberReceived(args, kwargs, content);
  return { args, kwargs, links: embed ?? {} };
}

/** Headers beyond Celery's, kept as plain properties (a `__proto__` header stays data). */
function extraHeadersOf(headers: Record<string, unknown>): Record<string, unknown> {
  const extraHeaders: Record<string, unknown> = {};
  // Object.keys, not entries: this runs for every message, and most headers are Celery's own.
  for (const name of Object.keys(headers)) {
    if (KNOWN.has(name)) continue;
    if (name === "__proto__")
      Object.defineProperty(extraHeaders, name, {
        value: headers[name],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    else extraHeaders[name] = headers[name];
  }
  return extraHeaders;
}
