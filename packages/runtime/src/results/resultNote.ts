import pg from "pg";
import type { ResultRow, TaskState } from "./resultTypes.js";

/**
 * What a result write's NOTIFY carries (the results trigger: sql/000001.sql, and since 000006 the row).
 * `row`: for a final state (SUCCESS, FAILURE, REVOKED) of a row with a JSON column — what the toolbox writes
 * — whose note stays under PostgreSQL's 8,000-byte payload limit; absent otherwise (read the row then).
 */
export interface ResultNote {
  schema: string;
  task_id: string;
  status: string;
  row?: NotedRow;
}

type NotedTimes = "date_done" | "started_at" | "updated_at" | "replayed_at";

/** The readable columns of `celery_taskmeta` as json_build_object writes them (timestamps as ISO text). */
export type NotedRow = Omit<ResultRow, "task_id" | "status" | "result" | NotedTimes> & {
  [column in NotedTimes]: string | null;
};

// pg's own timestamptz parser, so a noted time is the same Date a read of the row gives. It reads
// PostgreSQL's text output ("2026-12-05 19:40:00.123456+00"); JSON writes a "T" between date and time.
const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;
const timestamp = (iso: string | null): Date | null =>
  iso === null ? null : parseTimestamptz(iso.replace("T", " "));

/** The row a note carries, as a read of it gives it (resultFromRow reads both); undefined when it carries none. */
export function rowFromNote(note: ResultNote): ResultRow | undefined {
  const r = note.row;
  if (!r) return undefined;
  return {
    ...r,
    task_id: note.task_id,
    status: note.status as TaskState,
    result: null, // a note carries a row only when its JSON columns describe it (no pickle to read)
    date_done: timestamp(r.date_done),
    started_at: timestamp(r.started_at),
    updated_at: timestamp(r.updated_at),
    replayed_at: timestamp(r.replayed_at),
  };
}

/** Where a note is about, read from its first two members: what a listener needs to know whether to parse it. */
export interface NoteAddress {
  schema: string;
  taskId: string;
}

const QUOTE = 0x22;
const isSpace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/**
 * The schema and task id a note starts with, without parsing the rest (a final state's note carries its row:
 * ~450 bytes and more). Every trigger version writes `{"schema" : "…", "task_id" : "…", …}` (json_build_object).
 * Undefined when the note does not start that way or a value holds an escape: parse the whole note then.
 */
export function peekNote(payload: string): NoteAddress | undefined {
  let at = 0;
  const skipSpace = () => {
    while (isSpace(payload.charCodeAt(at))) at++;
  };
  const token = (text: string) => {
    skipSpace();
    if (!payload.startsWith(text, at)) return false;
    at += text.length;
    return true;
  };
  const string = () => {
    skipSpace();
    if (payload.charCodeAt(at) !== QUOTE) return undefined;
    const end = payload.indexOf('"', at + 1);
    const value = end < 0 ? "\\" : payload.slice(at + 1, end);
    if (value.includes("\\")) return undefined; // an escape: JSON.parse reads it
    at = end + 1;
    return value;
  };
  if (!token("{") || !token('"schema"') || !token(":")) return undefined;
  const schema = string();
  if (schema === undefined || !token(",") || !token('"task_id"') || !token(":")) return undefined;
  const taskId = string();
  return taskId === undefined ? undefined : { schema, taskId };
}
