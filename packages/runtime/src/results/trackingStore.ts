import type { Pool } from "pg";
import { receivedJsonbText } from "../protocol/receivedJson.js";
import { textArray } from "./binaryArrays.js";
import { withDbErrors } from "./dbErrors.js";
import { fromJsonb, toJsonText } from "./jsonText.js";
import { resultTables } from "./sqlNames.js";

/** One scheduled task, as the tracker records it from the platform queue. */
export interface TrackingInput {
  taskId: string;
  name: string;
  args?: readonly unknown[];
  kwargs?: Readonly<Record<string, unknown>>;
  parentId?: string | null;
  rootId?: string | null;
  eta?: Date | null;
  expires?: Date | null;
  /** A retry republishes the same id with retries + 1. */
  retries?: number;
  queue?: string | null;
  /** Extra metadata (e.g. requested_by); merged into what is stored. */
  tracking?: Readonly<Record<string, unknown>>;
  /** Sent with ignore_result: no SUCCESS row is expected (the audit does not count it as lost). */
  ignoreResult?: boolean;
  /** Celery's `group` and `group_index` headers: the group the task is a member of, and its place in it. */
  groupId?: string | null;
  groupIndex?: number | null;
}

export interface TrackingRecord {
  taskId: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  parentId: string | null;
  rootId: string | null;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  queue: string | null;
  tracking: Record<string, unknown>;
  ignoreResult: boolean;
  groupId: string | null;
  groupIndex: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export const trackingColumns =
  "task_id, name, args, kwargs, parent_id, root_id, eta, expires, retries, queue, tracking, ignore_result, group_id, group_index, created_at, updated_at";

// biome-ignore lint/suspicious/noExplicitAny: a raw pg row
export function trackingFromRow(r: any): TrackingRecord {
  return {
    taskId: r.task_id,
    name: r.name,
    args: fromJsonb(r.args) as unknown[],
    kwargs: fromJsonb(r.kwargs) as Record<string, unknown>,
    parentId: r.parent_id,
    rootId: r.root_id,
    eta: r.eta,
    expires: r.expires,
    retries: r.retries,
    queue: r.queue,
    tracking: fromJsonb(r.tracking) as Record<string, unknown>,
    ignoreResult: r.ignore_result ?? false,
    groupId: r.group_id ?? null,
    groupIndex: r.group_index ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface TrackingSummary {
  inserted: number;
  /** Rows seen again with the same or a higher retries count. */
  updated: number;
  /** Stale copies (lower retries than stored), left as they were. */
  unchanged: number;
}

/**
 * Batch upsert keyed on task_id. The first copy of a task creates the row; a copy with the same
 * or higher `retries` (a retry, or a redelivery) raises `retries`, refreshes eta/expires and
 * `updated_at` and merges `tracking`; an older copy arriving late changes nothing. Name, args
 * and creation time are kept from the first copy.
 */
export async function upsertTracking(
  pool: Pool,
  schema: string,
  rows: readonly TrackingInput[],
): Promise<TrackingSummary> {
  if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const t = resultTables(schema);
  const columns = encodeTracking(rows);
  const { rows: out } = await withDbErrors(pool, schema, `record ${columns[0].length} tracking row(s)`, () =>
    pool.query<{ inserted: boolean }>(
      `INSERT INTO ${t.tracking} AS k
         (task_id, name, args, kwargs, parent_id, root_id, eta, expires, retries, queue, tracking, ignore_result,
          group_id, group_index)
       SELECT u.task_id, u.name, u.args::jsonb, u.kwargs::jsonb, u.parent_id, u.root_id, u.eta, u.expires,
              u.retries, u.queue, u.tracking::jsonb, u.ignore_result, u.group_id, u.group_index
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::timestamptz[], $8::timestamptz[], $9::int[], $10::text[], $11::text[], $12::boolean[],
                     $13::text[], $14::int[])
           AS u(task_id, name, args, kwargs, parent_id, root_id, eta, expires, retries, queue, tracking,
                ignore_result, group_id, group_index)
       ON CONFLICT (task_id) DO UPDATE SET
         retries = EXCLUDED.retries,
         eta = EXCLUDED.eta,
         expires = EXCLUDED.expires,
         queue = COALESCE(EXCLUDED.queue, k.queue),
         parent_id = COALESCE(k.parent_id, EXCLUDED.parent_id),
         root_id = COALESCE(k.root_id, EXCLUDED.root_id),
         group_id = COALESCE(k.group_id, EXCLUDED.group_id),
         group_index = COALESCE(k.group_index, EXCLUDED.group_index),
         tracking = k.tracking || EXCLUDED.tracking,
         updated_at = now()
       WHERE EXCLUDED.retries >= k.retries
       RETURNING (xmax = 0) AS inserted`,
      trackingParams(columns),
    ),
  );
  const inserted = out.filter((r) => r.inserted).length;
  return { inserted, updated: out.length - inserted, unchanged: rows.length - out.length };
}

/** The parameters: text columns as binary arrays (binaryArrays.ts: a 100 KB argument is copied once, not
 * escaped into array text); eta, expires, retries and ignore_result as JS arrays. */
function trackingParams(columns: TrackingColumns): unknown[] {
  return columns.map((column, i) =>
    TIMESTAMPS_AND_NUMBERS.has(i) ? column : textArray(column as (string | Buffer | null)[]),
  );
}

/** eta, expires, retries, ignore_result, group_index: the columns that are not text. */
const TIMESTAMPS_AND_NUMBERS = new Set([6, 7, 8, 11, 13]);

type Column = unknown[];
/**
 * task_id, name, args, kwargs, parent_id, root_id, eta, expires, retries, queue, tracking, ignore_result,
 * group_id, group_index.
 */
type TrackingColumns = [
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
  Column,
];

/**
 * The upsert's `unnest` parameters, one array per column ($1..$14), one entry per task id (ON CONFLICT
 * cannot touch a row twice: the copy with the highest retries wins). Arguments and metadata are written in
 * the value model (`toJsonText`: Kombu's markers), so anything the decoder produced can be stored; throws
 * MESSAGE_NOT_SERIALIZABLE before any SQL for what cannot. Arguments whose received text jsonb reads as
 * that value are passed as the body's bytes instead (protocol/receivedJson.ts).
 */
export function encodeTracking(rows: readonly TrackingInput[]): TrackingColumns {
  const byId = new Map<string, TrackingInput>();
  for (const row of rows) {
    const held = byId.get(row.taskId);
    if (!held || (row.retries ?? 0) >= (held.retries ?? 0)) byId.set(row.taskId, row);
  }
  const unique = [...byId.values()];
  const col = <T>(f: (r: TrackingInput) => T) => unique.map(f);
  return [
    col((r) => r.taskId),
    col((r) => r.name),
    col((r) => jsonbText(r.args ?? [], "$.args")),
    col((r) => jsonbText(r.kwargs ?? {}, "$.kwargs")),
    col((r) => r.parentId ?? null),
    col((r) => r.rootId ?? null),
    col((r) => r.eta ?? null),
    col((r) => r.expires ?? null),
    col((r) => r.retries ?? 0),
    col((r) => r.queue ?? null),
    col((r) => toJsonText(r.tracking ?? {}, "$.tracking")),
    col((r) => r.ignoreResult ?? false),
    col((r) => r.groupId ?? null),
    col((r) => r.groupIndex ?? null),
  ];
}

/** The arguments' jsonb text: the received bytes when jsonb reads them as `toJsonText`'s value. */
const jsonbText = (value: unknown, path: string): string | Buffer =>
  receivedJsonbText(value) ?? toJsonText(value, path);
