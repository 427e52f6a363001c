import { encodeJson } from "../protocol/kombuJson.js";
import { receivedKombuJson } from "../protocol/receivedJson.js";
import { toJsonText } from "./jsonText.js";
import { celeryExceptionPickle, encodePickle } from "./pickle.js";
import type { TaskErrorInfo, TaskOutcome } from "./resultTypes.js";

/** One `celery_taskmeta` row as bind parameters (JSON columns as text, cast in SQL). */
export interface EncodedOutcome {
  taskId: string;
  status: string;
  result: Buffer;
  traceback: string | null;
  name: string | null;
  args: Buffer | null;
  kwargs: Buffer | null;
  retries: number | null;
  queue: string | null;
  resultJson: string | null;
  meta: string | null;
  error: string | null;
  parentId: string | null;
  rootId: string | null;
  generation: number;
}

/**
 * Encode an outcome the way Celery's database backend would store it (celery/backends/base.py
 * `encode_result`, `_get_result_meta`): args and kwargs as Kombu JSON bytes (result_serializer json),
 * results and progress meta pickled as Python objects, errors as the exception dict,
 * STARTED as `{pid, hostname}`, REVOKED as celery.exceptions.TaskRevokedError. Throws
 * MESSAGE_NOT_SERIALIZABLE before any SQL runs if a value cannot be stored. `extended` false
 * (`database.resultExtended`) leaves args and kwargs out: the tracking row holds them.
 */
export function encodeOutcome(outcome: TaskOutcome, workerName: string, extended = true): EncodedOutcome {
  // One object literal per row (no spread of a shared base): this runs for every result written.
  const row: EncodedOutcome = {
    taskId: outcome.taskId,
    status: outcome.state,
    result: EMPTY,
    traceback: null,
    name: outcome.name ?? null,
    // Celery's result_extended stores args/kwargs as its serializer's bytes: Kombu JSON, markers and all.
    args: outcome.args === undefined || !extended ? null : kombuBytes(outcome.args, "$.args"),
    kwargs: outcome.kwargs === undefined || !extended ? null : kombuBytes(outcome.kwargs, "$.kwargs"),
    retries: outcome.retries ?? null,
    queue: outcome.queue ?? null,
    resultJson: null,
    meta: null,
    error: null,
    parentId: outcome.parentId ?? null,
    rootId: outcome.rootId ?? null,
    generation: outcome.generation ?? 0,
  };
  switch (outcome.state) {
    case "STARTED":
      row.result = encodePickle({ pid: process.pid, hostname: workerName });
      return row;
    case "PROGRESS":
      row.result = encodePickle(outcome.meta);
      row.meta = toJsonText(outcome.meta, "$.meta");
      return row;
    case "SUCCESS":
      row.result = encodePickle(outcome.result);
      row.resultJson = toJsonText(outcome.result, "$.result");
      return row;
    case "RETRY":
    case "FAILURE": {
      const { error } = outcome;
      const eta = outcome.state === "RETRY" ? outcome.eta?.toISOString() : undefined;
      row.result = celeryExceptionPickle(error.type, error.message, error.module ?? "builtins");
      row.traceback = error.stack ?? null;
      row.error = errorJson(error, eta);
      return row;
    }
    case "REVOKED": {
      const error = { type: "TaskRevokedError", message: outcome.reason, module: "celery.exceptions" };
      row.result = celeryExceptionPickle(error.type, error.message, error.module);
      row.error = errorJson(error);
      return row;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The Kombu JSON bytes of decoded arguments: the body's own text when it is exactly what the encoder
 * writes (protocol/receivedJson.ts), else encoded. Throws MESSAGE_NOT_SERIALIZABLE (a row error) for what
 * Kombu's JSON cannot carry.
 */
const kombuBytes = (value: unknown, path: string) =>
  receivedKombuJson(value) ?? Buffer.from(encodeJson(value, path));

function errorJson(error: TaskErrorInfo, eta?: string): string {
  return toJsonText(
    { type: error.type, message: error.message, module: error.module ?? "builtins", stack: error.stack, eta },
    "$.error",
  );
}

const FINAL = new Set(["SUCCESS", "FAILURE", "REVOKED"]);

/**
 * One outcome per task id, because one INSERT ... ON CONFLICT cannot touch a row twice. Mirrors
 * the SQL precedence: the highest generation wins; within it the first final outcome, otherwise the
 * latest non-final one.
 */
export function latestPerTask(outcomes: readonly TaskOutcome[]): TaskOutcome[] {
  const byId = new Map<string, TaskOutcome>();
  for (const outcome of outcomes) {
    const held = byId.get(outcome.taskId);
    if (held) {
      const generation = (outcome.generation ?? 0) - (held.generation ?? 0);
      if (generation < 0) continue;
      if (generation === 0) {
        if (FINAL.has(held.state)) continue;
        if (!FINAL.has(outcome.state) && (outcome.retries ?? 0) < (held.retries ?? 0)) continue;
      }
    }
    byId.set(outcome.taskId, outcome);
  }
  return [...byId.values()];
}
