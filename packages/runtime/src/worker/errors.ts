/**
 * Control flow for task handlers. Throw `RetryableError` to ask for another attempt (optionally after a
 * given delay instead of the policy's backoff), `PermanentError` to dead-letter at once without retrying.
 * Any other error is treated as retryable while the task's retry policy has attempts left.
 */
export interface RetryableErrorOptions {
  /** Wait this long before the next attempt instead of the policy's exponential backoff. */
  delayMs?: number;
  message?: string;
  cause?: unknown;
}

export class RetryableError extends Error {
  readonly delayMs: number | undefined;

  constructor(messageOrOptions: string | RetryableErrorOptions = {}, options: RetryableErrorOptions = {}) {
    const opts = typeof messageOrOptions === "string" ? options : messageOrOptions;
    const message =
      typeof messageOrOptions === "string" ? messageOrOptions : (opts.message ?? "retry requested");
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "RetryableError";
    if (opts.delayMs !== undefined && !(Number.isFinite(opts.delayMs) && opts.delayMs >= 0)) {
      throw new RangeError(`RetryableError: delayMs must be a non-negative number, got ${opts.delayMs}`);
    }
    this.delayMs = opts.delayMs;
  }
}

export class PermanentError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PermanentError";
  }
}

/** Raised into a handler's outcome when its hard time limit passed (the AbortSignal fired first). */
export class TimeLimitExceeded extends Error {
  constructor(task: string, limitMs: number) {
    super(`Task ${task} exceeded its hard time limit of ${limitMs} ms.`);
    this.name = "TimeLimitExceeded";
  }
}

/**
 * The `ctx.signal` reason when a task's soft time limit passed (Celery's SoftTimeLimitExceeded). Unlike the
 * hard limit, the worker keeps waiting: the handler may stop, clean up and return or throw, until the hard
 * limit (if any). A handler that lets it propagate fails like any other error (retried per its policy).
 */
export class SoftTimeLimitExceeded extends Error {
  constructor(task: string, limitMs: number) {
    super(`Task ${task} exceeded its soft time limit of ${limitMs} ms.`);
    this.name = "SoftTimeLimitExceeded";
  }
}

/** The AbortSignal reason of a revoked task. */
export class TaskRevokedError extends Error {
  constructor(taskId: string, reason: string) {
    super(`Task ${taskId} was revoked: ${reason}.`);
    this.name = "TaskRevokedError";
  }
}

/** The AbortSignal reason when shutdown's grace period ended before the task did. */
export class WorkerShutdownError extends Error {
  constructor(graceMs: number) {
    super(
      `The worker is shutting down and the task did not finish within ${graceMs} ms; it was returned to the queue.`,
    );
    this.name = "WorkerShutdownError";
  }
}
