import type { TaskMessage } from "../protocol/celeryMessage.js";
import type { DeadLetterReason } from "../protocol/envelope.js";
import type { TaskErrorInfo, TaskOutcome, TaskRef } from "../results/resultTypes.js";

/**
 * Every delivery gets exactly one verdict; `settle` (settle.ts) carries it out. `admit` and `judge`
 * decide, without I/O:
 *
 *   Done        store `row` (SUCCESS, REVOKED, or none), then ack           tally: succeeded|revoked|skipped|dropped
 *   Retry       publish the retry through a delay rung + RETRY row, ack     Celery's Task.retry
 *   Delay       park the message in a delay rung until its eta, ack
 *   DeadLetter  publish to the dead-letter queue with the reason (+ FAILURE row when there is a task id), ack
 *   GiveBack    return it to the queue (shutdown; or settling failed where nothing better is possible)
 */
export type Verdict = Done | Retry | Delay | DeadLetter | GiveBack;

export type Tally = "succeeded" | "revoked" | "skipped" | "dropped";

export interface Done {
  kind: "done";
  tally: Tally;
  /** Stored before the ack; none when skipped, dropped or `ignore_result`. */
  row?: TaskOutcome;
  task?: TaskMessage;
  ref?: TaskRef;
  /** The handler's validated return value (a chain's next step receives it). */
  value?: unknown;
  /** Why, for the log: a revocation's reason, a stray copy's rung. */
  note?: string;
}

export interface Retry {
  kind: "retry";
  task: TaskMessage;
  ref: TaskRef;
  delayMs: number;
  error: Error;
  /** None with `ignore_result` (Celery stores no RETRY for such a task either). */
  row?: TaskOutcome;
}

export interface Delay {
  kind: "delay";
  task: TaskMessage;
  delayMs: number;
}

export interface DeadLetter {
  kind: "dead-letter";
  reason: DeadLetterReason;
  error: Error;
  /** Times the task ran (0 when it never started). */
  attempts: number;
  /** The FAILURE row, when the message named a task id. */
  row?: TaskOutcome;
  /** The decoded message, when it decoded. */
  task?: TaskMessage;
}

export interface GiveBack {
  kind: "give-back";
  why: "shutdown" | "unsettled";
  /** What kept it from being settled otherwise. */
  error?: unknown;
}

export const SHUTDOWN: GiveBack = Object.freeze({ kind: "give-back", why: "shutdown" });

export function succeeded(task: TaskMessage, ref: TaskRef, value: unknown): Done {
  return task.ignoreResult
    ? { kind: "done", tally: "succeeded", task, ref, value }
    : { kind: "done", tally: "succeeded", task, ref, value, row: successRow(ref, value) };
}

/**
 * `{ ...ref, state: "SUCCESS", result }` written out, for every task that succeeds: on Node 20 an object spread
 * followed by more properties costs about 4 µs (V8 builds a new hidden class each time), an object literal
 * 0.1 µs. The type lists every field of TaskRef, so a field added there must be added here.
 */
function successRow(ref: TaskRef, result: unknown): TaskOutcome {
  const row: { [K in keyof Required<TaskRef>]: TaskRef[K] } & { state: "SUCCESS"; result: unknown } = {
    taskId: ref.taskId,
    generation: ref.generation,
    name: ref.name,
    args: ref.args,
    kwargs: ref.kwargs,
    retries: ref.retries,
    queue: ref.queue,
    parentId: ref.parentId,
    rootId: ref.rootId,
    state: "SUCCESS",
    result,
  };
  return row;
}

export function revoked(task: TaskMessage, ref: TaskRef, reason: string): Done {
  return {
    kind: "done",
    tally: "revoked",
    task,
    ref,
    note: reason,
    row: { ...ref, state: "REVOKED", reason },
  };
}

export function retry(task: TaskMessage, ref: TaskRef, error: Error, delayMs: number, now: number): Retry {
  const eta = new Date(now + delayMs);
  const verdict: Retry = { kind: "retry", task, ref, delayMs, error };
  if (!task.ignoreResult) verdict.row = { ...ref, state: "RETRY", error: errorInfo(error), eta };
  return verdict;
}

export function deadLetter(
  reason: DeadLetterReason,
  error: Error,
  attempts: number,
  ref: TaskRef | undefined,
  task?: TaskMessage,
): DeadLetter {
  const letter: DeadLetter = { kind: "dead-letter", reason, error, attempts };
  if (task) letter.task = task;
  if (ref) letter.row = { ...ref, state: "FAILURE", error: errorInfo(error, reason) };
  return letter;
}

/** The error as stored; a dead letter's stack starts with its reason. */
export function errorInfo(error: Error, reason?: DeadLetterReason): TaskErrorInfo {
  const info: TaskErrorInfo = { type: error.name || "Error", message: error.message };
  const stack = reason ? `${reason}: ${error.stack ?? error.message}` : error.stack;
  if (stack) info.stack = stack;
  return info;
}

/** True when the verdict says the handler failed (ran and threw, or returned what its contract refuses). */
export function handlerFailed(verdict: Verdict): boolean {
  if (verdict.kind === "retry") return true;
  return (
    verdict.kind === "dead-letter" &&
    (verdict.reason === "permanent-error" ||
      verdict.reason === "retries-exhausted" ||
      verdict.reason === "time-limit" ||
      verdict.reason === "invalid-result")
  );
}
