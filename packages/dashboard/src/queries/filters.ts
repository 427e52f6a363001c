import { ToolboxError } from "@worker-toolbox/config";
import type { TaskState } from "@worker-toolbox/runtime";

/**
 * What the task list can be narrowed to, parsed from the dashboard's query string and the CLI's flags by the
 * same functions, so `worker-toolbox tasks --state FAILURE --since 1h` and `/tasks?state=FAILURE&since=1h`
 * mean the same thing.
 */
export interface TaskFilter {
  /** The service part of the task name (`export` of `export.project.v2`). */
  service?: string;
  /** A task name: with a version suffix it matches that version, without it every version. */
  task?: string;
  states?: TaskState[];
  /** Tasks scheduled at or after this moment. */
  since?: Date;
  /** Tasks scheduled before this moment. */
  until?: Date;
  /** Tasks of this family (the root itself included). */
  rootId?: string;
  /** Members of this Celery group (the `group` header; a chord's header is a group). */
  groupId?: string;
  /**
   * A value inside the arguments: `invoice-7` or `42` anywhere in args or kwargs (at any depth), or
   * `key=value` for a keyword argument.
   */
  arg?: string;
}

export const TASK_STATES: readonly TaskState[] = [
  "PENDING",
  "RECEIVED",
  "STARTED",
  "PROGRESS",
  "RETRY",
  "SUCCESS",
  "FAILURE",
  "REVOKED",
];

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `15m`, `1h`, `7d`, `2w` → milliseconds, or undefined when `text` is not a duration. */
export function durationMs(text: string): number | undefined {
  const match = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : undefined;
}

/** A moment: a duration back from `now` (`1h`), or an ISO date/time. */
export function parseMoment(text: string, what: string, now = Date.now()): Date {
  const ms = durationMs(text);
  if (ms !== undefined) return new Date(now - ms);
  const date = new Date(text);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    throw invalid(
      what,
      text,
      "write a duration back from now (30m, 1h, 7d) or an ISO time (2026-12-01T08:00Z)",
    );
  }
  return date;
}

export function parseStates(values: readonly string[]): TaskState[] {
  const states = values
    .flatMap((value) => value.split(","))
    .map((value) => value.trim().toUpperCase())
    .filter(Boolean);
  for (const state of states) {
    if (!(TASK_STATES as readonly string[]).includes(state))
      throw invalid("state", state, `use one of ${TASK_STATES.join(", ")}`);
  }
  return [...new Set(states)] as TaskState[];
}

/** Raw filter fields (query string or CLI flags) → a TaskFilter; empty fields are left out. */
export function parseTaskFilter(
  raw: Record<string, string | string[] | undefined>,
  now = Date.now(),
): TaskFilter {
  const one = (key: string) => {
    const value = raw[key];
    const text = (Array.isArray(value) ? value[value.length - 1] : value)?.trim();
    return text ? text : undefined;
  };
  const filter: TaskFilter = {};
  const service = one("service");
  if (service) filter.service = service;
  const task = one("task");
  if (task) filter.task = task;
  const stateValues = ([] as string[]).concat(raw.state ?? []).filter(Boolean);
  if (stateValues.length > 0) filter.states = parseStates(stateValues);
  const since = one("since");
  if (since) filter.since = parseMoment(since, "since", now);
  const until = one("until");
  if (until) filter.until = parseMoment(until, "until", now);
  const rootId = one("root");
  if (rootId) filter.rootId = rootId;
  const groupId = one("group");
  if (groupId) filter.groupId = groupId;
  const arg = one("arg");
  if (arg) filter.arg = arg;
  return filter;
}

/** How an argument search is matched: JSON values to find among the leaves, and an optional kwarg key. */
export interface ArgumentMatch {
  /** Any of these JSON scalars among the leaf values of args and kwargs. */
  values: unknown[];
  /** Set for `key=value`: the keyword argument `key` must equal the value. */
  key?: string;
}

/**
 * `invoice-7` → the string; `42` → the number 42 or the string "42"; `"42"` → only the string;
 * `user_id=42` → kwargs.user_id equal to 42 (or "42").
 */
export function parseArgumentSearch(text: string): ArgumentMatch {
  const keyed = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(text);
  const valueText = keyed ? keyed[2]! : text;
  let parsed: unknown = valueText;
  try {
    parsed = JSON.parse(valueText);
  } catch {
    // A bare word: the string itself.
  }
  const values =
    parsed !== null && typeof parsed === "object"
      ? [valueText]
      : typeof parsed === "string"
        ? [parsed]
        : [parsed, valueText];
  return keyed ? { values, key: keyed[1]! } : { values };
}

/** A position in the task list: the last row shown, newest first. Opaque to callers. */
export interface Cursor {
  /** created_at as PostgreSQL prints it (microseconds kept: a Date would lose them). */
  at: string;
  taskId: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.taskId])).toString("base64url");
}

export function decodeCursor(text: string): Cursor {
  try {
    const [at, taskId] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
    if (typeof at === "string" && typeof taskId === "string") return { at, taskId };
  } catch {
    // Fall through.
  }
  throw invalid("cursor", text, "use the `next` value a previous page returned");
}

function invalid(what: string, value: string, hint: string): ToolboxError {
  return new ToolboxError("CONFIG_INVALID", `${what} "${value}" is not valid.`, { hint });
}
