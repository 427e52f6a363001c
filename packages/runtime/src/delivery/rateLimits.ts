import { parseCeleryRate } from "@worker-toolbox/config";

/**
 * Celery's task rate limits (`Task.rate_limit`, changed at run time by `app.control.rate_limit`): per task
 * name, at most N runs per second, minute or hour in this worker. As Celery's worker does (a token bucket of
 * capacity 1 per task type), a task over its rate waits in the worker — still unacknowledged, counted against
 * the prefetch — until its turn, and only then takes a handler slot, so other task types run meanwhile.
 * Each arrival books the next free turn: turns are 1/rate apart, in arrival order.
 */
export class RateLimits {
  /** Per task name: ms between runs, and the earliest time the next run may start. */
  private readonly limits = new Map<string, { intervalMs: number; next: number }>();

  /** True when any task type is limited (the pipeline asks nothing else otherwise). */
  get active(): boolean {
    return this.limits.size > 0;
  }

  /** Limit `task` to `perSecond` runs a second; 0 lifts the limit. */
  set(task: string, perSecond: number): void {
    if (perSecond <= 0) this.limits.delete(task);
    else this.limits.set(task, { intervalMs: 1_000 / perSecond, next: 0 });
  }

  /** Runs a second allowed for `task` (undefined: no limit). */
  get(task: string): number | undefined {
    const limit = this.limits.get(task);
    return limit && 1_000 / limit.intervalMs;
  }

  /** Book the next turn of `task`: how many ms from `now` until it may run (0: now). */
  reserve(task: string, now: number): number {
    const limit = this.limits.get(task);
    if (!limit) return 0;
    const turn = Math.max(now, limit.next);
    limit.next = turn + limit.intervalMs;
    return turn - now;
  }
}

/** The limits a worker starts with: its contracts' `rateLimit`s (runs a second). */
export function contractRates(contracts: Iterable<{ name: string; rateLimit: number | null }>): RateLimits {
  const rates = new RateLimits();
  for (const contract of contracts) if (contract.rateLimit) rates.set(contract.name, contract.rateLimit);
  return rates;
}

/** Celery's rate string as runs a second (defined in the config package, where `defineTask` reads it). */
export { parseCeleryRate };
