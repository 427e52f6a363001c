import { parseCeleryRate } from "../delivery/rateLimits.js";
import { nok, ok } from "./inspectReplies.js";

/** What a worker lets remote control change while it runs (worker/celeryPresence.ts implements it). */
export interface WorkerSettings {
  /** Handler slots now (`worker.concurrency` until pool_grow/pool_shrink change it). */
  concurrency(): number;
  setConcurrency(slots: number): void;
  /** Runs a second for a task this worker runs (0 lifts the limit); false for a name it does not run. */
  setRateLimit(task: string, perSecond: number): boolean;
  /** [hard, soft] in ms (null: none); false for a name it does not run. */
  setTimeLimits(task: string, limits: { hard: number | null; soft: number | null }): boolean;
  /** Stop as on SIGTERM: stop consuming, let running tasks finish, return the rest, exit. */
  shutdown(reason: string): void;
  /** Consume a queue declared elsewhere too (worker/taskQueues.ts); the reply in Celery's words. */
  addConsumer(queue: string): Promise<{ ok: string } | { error: string }>;
  /** Stop consuming a queue; what it delivered still runs and settles. */
  cancelConsumer(queue: string): Promise<{ ok: string } | { error: string }>;
}

/** The most handler slots a worker takes (`worker.concurrency`'s maximum). */
export const MAX_CONCURRENCY = 1_000;

const count = (value: unknown): number | undefined => {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 ? n : undefined;
};

/** Seconds (Celery) to ms; null, undefined or 0: no limit. */
const limitMs = (value: unknown): number | null | undefined => {
  if (value === null || value === undefined || value === 0) return null;
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.round(n * 1_000) : undefined;
};

/** pool_grow / pool_shrink: change the handler slots by `n` (default 1), as Celery's prefork pool does. */
function resize(args: Record<string, unknown>, settings: WorkerSettings, sign: 1 | -1) {
  const method = sign > 0 ? "pool_grow" : "pool_shrink";
  const n = count(args.n ?? 1);
  if (n === undefined) return nok(`${method}: n must be a whole number ≥ 1, got ${JSON.stringify(args.n)}`);
  const size = settings.concurrency() + sign * n;
  if (size < 1) return nok(`${method}: the pool has ${settings.concurrency()} slot(s) and keeps at least 1`);
  if (size > MAX_CONCURRENCY) return nok(`${method}: at most ${MAX_CONCURRENCY} slots (asked for ${size})`);
  settings.setConcurrency(size);
  return ok(sign > 0 ? "pool will grow" : "pool will shrink");
}

/** add_consumer's queue: a non-empty name; exchange and routing_key would ask for a declaration. */
function queueArgument(method: string, args: Record<string, unknown>) {
  if (typeof args.queue !== "string" || args.queue === "")
    return nok(`${method}: queue is required (the name of a queue), got ${JSON.stringify(args.queue)}`);
  if (method === "add_consumer" && (notNull(args.exchange) || notNull(args.routing_key)))
    return nok(
      `add_consumer: a worker-toolbox worker never declares queues, exchanges or bindings (got exchange ${JSON.stringify(args.exchange ?? null)}, routing_key ${JSON.stringify(args.routing_key ?? null)}): declare ${args.queue} and its binding first, then add_consumer ${args.queue} alone`,
    );
  return args.queue;
}

const notNull = (value: unknown) => value !== undefined && value !== null && value !== "";

/**
 * The commands that change a worker at run time, answered in the words of Celery's worker
 * (celery/worker/control.py) so `app.control.pool_grow(reply=True)` and friends read the same replies.
 */
export const CHANGE_COMMANDS: Record<
  string,
  (args: Record<string, unknown>, settings: WorkerSettings) => unknown | Promise<unknown>
> = {
  pool_grow: (args, settings) => resize(args, settings, 1),
  pool_shrink: (args, settings) => resize(args, settings, -1),
  // A TypeScript worker has no autoscaler: answered as a Celery worker started without --autoscale.
  autoscale: () => nok("Autoscale not enabled"),
  rate_limit(args, settings) {
    let perSecond: number;
    try {
      perSecond = parseCeleryRate(args.rate_limit);
    } catch (error) {
      return nok(`Invalid rate limit string: ${(error as Error).message}`);
    }
    if (!settings.setRateLimit(String(args.task_name), perSecond)) return nok("unknown task");
    return ok(perSecond === 0 ? "rate limit disabled successfully" : "new rate limit set successfully");
  },
  time_limit(args, settings) {
    const hard = limitMs(args.hard);
    const soft = limitMs(args.soft);
    if (hard === undefined || soft === undefined)
      return nok(
        `time_limit: soft and hard are seconds > 0 or null, got ${JSON.stringify([args.soft, args.hard])}`,
      );
    if (!settings.setTimeLimits(String(args.task_name), { hard, soft })) return nok("unknown task");
    return ok("time limits set successfully");
  },
  // Celery replies once the consumer is scheduled; ours once it consumes (or with why it cannot).
  add_consumer(args, settings) {
    const queue = queueArgument("add_consumer", args);
    return typeof queue === "string" ? settings.addConsumer(queue) : queue;
  },
  cancel_consumer(args, settings) {
    const queue = queueArgument("cancel_consumer", args);
    return typeof queue === "string" ? settings.cancelConsumer(queue) : queue;
  },
  // A TypeScript worker has no process pool to restart: answered as a Celery worker without
  // worker_pool_restarts (its ValueError's message).
  pool_restart: () => nok("Pool restarts not enabled"),
  shutdown(args, settings) {
    settings.shutdown(typeof args.msg === "string" ? args.msg : "Got shutdown from remote");
    return ok("shutting down");
  },
};
