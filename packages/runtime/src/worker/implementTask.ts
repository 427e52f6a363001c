import type { AnyTaskContract, ParsedArgs, ParsedKwargs, TaskArgs, TaskKwargs } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { z } from "zod";
import type { SendOptions, SendReceipt } from "../producer/types.js";

/** Options of a follow-up task sent from a handler with `ctx.send` (the parent is set for you). */
export type FollowUpOptions = Omit<SendOptions, "parent">;

export interface ProgressUpdate {
  done: number;
  total?: number;
  note?: string;
}

/** What a handler gets besides its arguments. */
export interface TaskContext {
  readonly taskId: string;
  readonly name: string;
  /** 1 on the first run, `retries + 1` after retries. Execution is at-least-once: see `taskId`. */
  readonly attempt: number;
  readonly retries: number;
  readonly parentId: string | null;
  readonly rootId: string;
  /** pino child logger with service, task, taskId and rootId. */
  readonly logger: Logger;
  /**
   * Fires on revoke, on the hard time limit and when shutdown's grace period ends (the worker then stops
   * waiting for the handler), and at the soft time limit with a `SoftTimeLimitExceeded` reason (the worker
   * keeps waiting until the hard limit, so the handler can clean up and return or throw).
   */
  readonly signal: AbortSignal;
  /** Record a PROGRESS row; resolves once stored (awaiting is optional; failures are logged). */
  progress(update: ProgressUpdate): Promise<void>;
  /** Send a follow-up task whose parent is this task and whose root is this task's root; resolves once confirmed. */
  send<C extends AnyTaskContract>(
    contract: C,
    args: TaskArgs<C>,
    kwargs?: TaskKwargs<C>,
    options?: FollowUpOptions,
  ): Promise<SendReceipt>;
}

export type TaskHandler<C extends AnyTaskContract> = (
  input: { args: ParsedArgs<C>; kwargs: ParsedKwargs<C> },
  ctx: TaskContext,
) => z.input<C["result"]> | Promise<z.input<C["result"]>>;

/** A contract bound to its handler, ready to be passed to `createWorker({ tasks })`. */
export interface TaskImplementation<C extends AnyTaskContract = AnyTaskContract> {
  readonly contract: C;
  readonly handler: TaskHandler<C>;
}

/**
 * Bind a handler to its contract. The worker validates arguments before calling it (a bad call is
 * dead-lettered, never executed) and the returned value after (a bad result is a failure).
 */
export function implementTask<C extends AnyTaskContract>(
  contract: C,
  handler: TaskHandler<C>,
): TaskImplementation<C> {
  if (typeof handler !== "function") {
    throw new TypeError(`implementTask(${contract?.name}): the handler must be a function`);
  }
  return Object.freeze({ contract, handler });
}
