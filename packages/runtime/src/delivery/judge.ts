import {
  type AnyTaskContract,
  type RetryPolicy,
  retryDelayMs,
  type ToolboxConfig,
  validateResult,
} from "@worker-toolbox/config";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import type { TaskRef } from "../results/resultTypes.js";
import { PermanentError, RetryableError, TimeLimitExceeded } from "../worker/errors.js";
import type { TaskImplementation } from "../worker/implementTask.js";
import { deadLetter, retry, revoked, succeeded, type Verdict } from "./verdict.js";

/** How a handler run ended: its return value, or what it threw (or the abort reason that ended it). */
export type Execution = { ok: true; value: unknown } | { ok: false; error: Error };

export interface Judged {
  task: TaskMessage;
  ref: TaskRef;
  impl: TaskImplementation;
  execution: Execution;
  /** Set when the task was revoked while it ran. */
  revokedReason: string | undefined;
  policy: RetryPolicy;
}

/**
 * Decide what a finished run comes to:
 *
 *   revoked while running ─► Done (REVOKED row)
 *   returned a value the contract accepts ─► Done (SUCCESS row; none with ignore_result)
 *   returned a value the contract refuses ─► DeadLetter invalid-result
 *   threw PermanentError ─► DeadLetter permanent-error
 *   hard time limit ─► DeadLetter time-limit (never retried, as Celery)
 *   threw, attempts left ─► Retry after the policy's backoff (or RetryableError's delayMs)
 *   threw, no attempts left ─► DeadLetter retries-exhausted
 */
export function judge(run: Judged, now: number, random: () => number = Math.random): Verdict {
  const { task, ref, impl, execution } = run;
  if (run.revokedReason !== undefined) return revoked(task, ref, run.revokedReason);
  const attempt = task.retries + 1;
  if (execution.ok) {
    let value: unknown;
    try {
      value = validateResult(impl.contract, execution.value);
    } catch (error) {
      return deadLetter("invalid-result", error as Error, attempt, ref, task);
    }
    return succeeded(task, ref, value);
  }
  const decision = decideRetry(run.policy, attempt, execution.error, random);
  if (!decision.retry) return deadLetter(decision.reason, execution.error, attempt, ref, task);
  return retry(task, ref, execution.error, decision.delayMs, now);
}

/** The configured retry policy with the contract's overrides. */
export function retryPolicyFor(config: ToolboxConfig, contract: AnyTaskContract): RetryPolicy {
  return { ...config.retry, ...contract.retry };
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: "permanent-error" | "retries-exhausted" | "time-limit" };

/** What to do after attempt number `attempt` (1-based) failed with `error`. */
export function decideRetry(
  policy: RetryPolicy,
  attempt: number,
  error: unknown,
  random: () => number = Math.random,
): RetryDecision {
  if (error instanceof PermanentError) return { retry: false, reason: "permanent-error" };
  // Celery fails a task whose hard time limit fired and does not retry it (the run was killed, not raised).
  if (error instanceof TimeLimitExceeded) return { retry: false, reason: "time-limit" };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: "retries-exhausted" };
  const delayMs =
    error instanceof RetryableError && error.delayMs !== undefined
      ? error.delayMs
      : retryDelayMs(policy, attempt, random);
  return { retry: true, delayMs };
}
