import { pythonRepr } from "../protocol/repr.js";
import type { TaskState } from "./resultTypes.js";
import { decodePickle } from "./unpickle.js";

/**
 * What a row Celery (Python) wrote holds, read from its pickled `result` column: Celery fills no
 * `result_json`/`meta`/`error` (the toolbox's own columns), so TypeScript readers take the value, the
 * progress meta or the error from the pickle, as `AsyncResult` would (celery/backends/base.py
 * `meta_from_decoded`: exception states hold `{exc_type, exc_message, exc_module}`).
 */
export interface PythonRowView {
  value: unknown;
  meta: unknown;
  error: { type: string; message: string; module: string; stack?: string } | null;
  /** Why the pickle could not be read; value, meta and error are then null. */
  unreadable: string | null;
}

const EXCEPTION_STATES = new Set<string>(["FAILURE", "RETRY", "REVOKED"]);

export function readPythonRow(
  status: TaskState,
  pickle: Buffer | null,
  traceback: string | null,
): PythonRowView {
  const none: PythonRowView = { value: null, meta: null, error: null, unreadable: null };
  if (!pickle || pickle.length === 0) return none;
  let decoded: unknown;
  try {
    decoded = decodePickle(pickle);
  } catch (error) {
    return { ...none, unreadable: (error as Error).message.split("\n")[0]! };
  }
  if (EXCEPTION_STATES.has(status)) return { ...none, error: exceptionOf(decoded, traceback) };
  if (status === "SUCCESS") return { ...none, value: decoded };
  return { ...none, meta: decoded };
}

function exceptionOf(decoded: unknown, traceback: string | null): PythonRowView["error"] {
  if (!decoded || typeof decoded !== "object" || Array.isArray(decoded)) return null;
  const dict = decoded as { exc_type?: unknown; exc_message?: unknown; exc_module?: unknown };
  if (typeof dict.exc_type !== "string") return null;
  const error: NonNullable<PythonRowView["error"]> = {
    type: dict.exc_type,
    message: exceptionMessage(dict.exc_message),
    module: typeof dict.exc_module === "string" ? dict.exc_module : "builtins",
  };
  if (traceback) error.stack = traceback;
  return error;
}

/** `str(exc)`: the one argument as text, or the tuple of arguments as Python writes it. */
function exceptionMessage(args: unknown): string {
  const one = (arg: unknown) => (typeof arg === "string" ? arg : pythonRepr(arg));
  if (!Array.isArray(args)) return one(args);
  if (args.length <= 1) return args.length === 0 ? "" : one(args[0]);
  return pythonRepr(args, { tuple: true });
}
