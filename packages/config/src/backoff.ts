import type { RetryPolicy } from "./schema.js";

/**
 * Delay before retry number `attempt` (1 = the first retry): exponential from `backoffBaseMs`, capped at
 * `backoffMaxMs`, then randomised so that tasks failing together do not come back together.
 * `random` is injectable for tests.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  switch (policy.jitter) {
    case "none":
      return exponential;
    case "equal":
      return Math.round(exponential / 2 + random() * (exponential / 2));
    case "full":
      return Math.round(random() * exponential);
  }
}
