import { ToolboxError } from "@worker-toolbox/config";
import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import type { Logger } from "pino";

/**
 * What a consumer does when a write or a publish fails: one "is this transient" check and one durable
 * retry policy, shared by the worker (result rows, retries, dead letters) and the tracker (tracking rows).
 * A database or broker that is down or restarting is waited out — the message stays unacknowledged
 * meanwhile, so nothing is lost, and the prefetch bounds what piles up — until it works or the caller's
 * signal fires (its channel closed, shutdown's deadline passed). Errors another try cannot change end
 * the retrying at once.
 */

/** Errors caused by the rows themselves: retrying the same rows cannot help (isolate them instead). */
export function isRowError(error: unknown): boolean {
  if (error instanceof ToolboxError) return error.code === "MESSAGE_NOT_SERIALIZABLE";
  const code = (error as { code?: unknown })?.code;
  // SQLSTATE class 22 = data exception (e.g. \u0000 in text), 23 = integrity constraint violation.
  return typeof code === "string" && /^(22|23)[0-9A-Z]{3}$/.test(code);
}

/** Codes another try answers the same way: closing, or a message that cannot be built. */
const FINAL_CODES = new Set(["CLOSED", "MESSAGE_INVALID", "MESSAGE_TOO_LARGE", "MESSAGE_NOT_SERIALIZABLE"]);

/**
 * True when trying again later may succeed: an unreachable or restarting database or broker, a publish
 * that timed out, and also what looks like a bug (a missing table, a refused permission), which is
 * retried loudly rather than turned into dead letters. False for row errors and the final codes.
 */
export function isTransient(error: unknown): boolean {
  if (isRowError(error)) return false;
  return !(error instanceof ToolboxError && FINAL_CODES.has(error.code));
}

export interface DurableRetry {
  /** Run `fn` until it succeeds, fails with an error that is not transient, or `signal` fires. */
  run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T>;
}

/** Exponential backoff (100 ms doubling to 5 s, no limit on attempts); each retry is logged as `what`. */
export function durableRetry(
  logger: Logger,
  what: string,
  backoff: { initialMs: number; maxMs: number } = { initialMs: 100, maxMs: 5_000 },
): DurableRetry {
  const policy = retry(handleWhen(isTransient), {
    maxAttempts: Number.POSITIVE_INFINITY,
    backoff: new ExponentialBackoff({ initialDelay: backoff.initialMs, maxDelay: backoff.maxMs }),
  });
  policy.onRetry(({ attempt, delay, ...reason }) => {
    const error = "error" in reason ? (reason.error as Error & { code?: unknown }) : undefined;
    logger.warn({ attempt, delayMs: Math.round(delay), err: error?.message, code: error?.code }, what);
  });
  return { run: (fn, signal) => policy.execute(() => fn(), signal) };
}
