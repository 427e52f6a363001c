import type { AnyTaskContract } from "@worker-toolbox/config";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import { SoftTimeLimitExceeded, TimeLimitExceeded } from "../worker/errors.js";
import type { TaskContext, TaskImplementation } from "../worker/implementTask.js";
import type { Execution } from "./judge.js";

/**
 * Run one handler. Execute owns the run's abort switch, its time limits and (through `context`) what the
 * handler may do meanwhile; it decides nothing and settles nothing.
 *
 * A synchronous handler's outcome is returned as is (no promise, no timer: nothing can interrupt
 * synchronous code anyway); a promise is raced against the abort switch and the hard time limit. The soft
 * time limit only fires the handler's signal: the handler decides how to stop.
 */
export function execute(
  task: TaskMessage,
  impl: TaskImplementation,
  input: { args: unknown; kwargs: unknown },
  abort: TaskAbort,
  context: TaskContext,
): Execution | Promise<Execution> {
  let returned: unknown;
  try {
    returned = impl.handler(input as never, context);
  } catch (error) {
    return { ok: false, error: asError(error) };
  }
  if (!isPromiseLike(returned)) return { ok: true, value: returned };
  return race(task, impl.contract, abort, returned);
}

async function race(
  task: TaskMessage,
  contract: AnyTaskContract,
  abort: TaskAbort,
  returned: PromiseLike<unknown>,
): Promise<Execution> {
  const hardMs = hardLimitMs(task, contract);
  const timer =
    hardMs === null
      ? undefined
      : setTimeout(() => abort.abort(new TimeLimitExceeded(task.task, hardMs)), hardMs);
  const softMs = softLimitMs(task, contract);
  const softTimer =
    softMs === null || (hardMs !== null && softMs >= hardMs)
      ? undefined
      : setTimeout(() => abort.interrupt(new SoftTimeLimitExceeded(task.task, softMs)), softMs);
  try {
    // A handler that ignores its signal is not waited for once it is aborted (revoke, time limit, shutdown).
    return { ok: true, value: await Promise.race([returned, abort.whenAborted()]) };
  } catch (error) {
    return { ok: false, error: asError(error) };
  } finally {
    clearTimeout(timer);
    clearTimeout(softTimer);
  }
}

/**
 * The abort switch of one handler run. An AbortSignal is an EventTarget, costly to create for every message,
 * and most handlers never look at theirs: it is made when `ctx.signal` is first read (already aborted if the
 * run was). The worker itself waits on `whenAborted()`, a plain promise.
 */
export class TaskAbort {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;
  /** Why the signal fired without the run being given up (the soft time limit). */
  private interruption: unknown;
  private rejectWait: ((reason: unknown) => void) | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted || this.interruption !== undefined)
        this.controller.abort(this.interruption ?? this.reason);
    }
    return this.controller.signal;
  }

  /** Fires the signal but keeps waiting for the handler (`whenAborted` is not settled). */
  interrupt(reason: unknown): void {
    if (this.aborted || this.interruption !== undefined) return;
    this.interruption = reason;
    this.controller?.abort(reason);
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException("This operation was aborted", "AbortError");
    this.controller?.abort(this.reason);
    this.rejectWait?.(this.reason);
  }

  /** Rejects with the reason once aborted. */
  whenAborted(): Promise<never> {
    return new Promise<never>((_, reject) => {
      if (this.aborted) reject(this.reason);
      else this.rejectWait = reject;
    });
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === "string" ? value : (JSON.stringify(value) ?? String(value)), {
    cause: value,
  });
}

/** The soft time limit in ms: the message's `timelimit[1]` (seconds, Celery) or the contract's. */
function softLimitMs(task: TaskMessage, contract: AnyTaskContract): number | null {
  if (task.timeLimit.soft !== null && task.timeLimit.soft > 0) return task.timeLimit.soft * 1_000;
  return contract.timeLimitMs.soft;
}

/** The hard time limit in ms: the message's `timelimit[0]` (seconds, Celery) or the contract's. */
function hardLimitMs(task: TaskMessage, contract: AnyTaskContract): number | null {
  if (task.timeLimit.hard !== null && task.timeLimit.hard > 0) return task.timeLimit.hard * 1_000;
  return contract.timeLimitMs.hard;
}
