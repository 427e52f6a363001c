import { ToolboxError } from "@worker-toolbox/config";
import type { Pool } from "pg";
import type { Logger } from "pino";
import { translateDbError } from "./dbErrors.js";
import { guardPool } from "./poolErrors.js";
import { type TaskView, type WaitOptions, waitForResult } from "./readResults.js";
import { resultListener } from "./resultListener.js";

export interface ResultWatcherOptions {
  /** The pool results are read through; the watcher keeps one of its connections listening. */
  pool: Pool;
  /** The result tables' schema (`config.database.schema`). */
  schema: string;
  /**
   * Where a failed connection of `pool` is reported (default: warnings on stderr). The watcher guards the
   * pool as the worker does (results/poolErrors.ts): a pool with no `error` listener of its own gets ours, so
   * an idle connection the waits opened cannot crash the process when it drops.
   */
  logger?: Logger;
}

/**
 * A long-lived result listener that many waits share, as BullMQ's QueueEvents or Celery's result consumer:
 * create one per process (next to the producer), then `wait(id)` for as many tasks as you like.
 */
export interface ResultWatcher {
  /** Resolves once the listening connection is up (rejects with DATABASE_UNAVAILABLE when it cannot be). */
  ready(): Promise<void>;
  /**
   * Resolve with the task once it reaches a final state (SUCCESS, FAILURE, REVOKED); RESULT_TIMEOUT after
   * `timeoutMs`. The same semantics as `waitForResult`, without setting up a listener per call.
   */
  wait(taskId: string, options: WaitOptions): Promise<TaskView>;
  /** Tasks being waited for on this pool right now. */
  readonly waiting: number;
  /** Stop listening: waits still running reject with CLOSED; the connection goes back to the pool. */
  close(): Promise<void>;
}

/**
 * Keep one LISTEN connection of `pool` open for the process's lifetime, so that waiting for a result costs
 * no connection set-up: a `waitForResult` takes the pool's listening connection (and LISTENs) when it
 * starts and gives it back when it ends, about 4 ms per call; a watcher's waits start listening at once.
 * A broken connection is reopened in the background (every wait re-reads its row then: a write may have
 * gone unheard). Every `waitForResult` on the same pool shares the watcher's connection too.
 */
export function createResultWatcher(options: ResultWatcherOptions): ResultWatcher {
  const { pool, schema } = options;
  guardPool(pool, options.logger);
  const listener = resultListener(pool);
  const unhold = listener.hold();
  /** One controller per running wait (the caller's signal forwarded to it), so close() can end them all. */
  const running = new Set<AbortController>();
  let closed = false;
  return {
    ready: async () => {
      if (closed) throw closedError();
      await listener.ready().then(
        () => undefined,
        (error: unknown) => {
          throw translateDbError(error, pool, schema, "listen for results");
        },
      );
    },
    wait: async (taskId, waitOptions) => {
      if (closed) throw closedError();
      const own = new AbortController();
      const caller = waitOptions.signal;
      const forward = () => own.abort(caller?.reason);
      if (caller?.aborted) forward();
      caller?.addEventListener("abort", forward, { once: true });
      running.add(own);
      try {
        return await waitForResult(pool, schema, taskId, { ...waitOptions, signal: own.signal });
      } finally {
        running.delete(own);
        caller?.removeEventListener("abort", forward);
      }
    },
    get waiting() {
      return listener.waiting;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const own of running) own.abort(closedError());
      await unhold();
    },
  };
}

const closedError = () =>
  new ToolboxError("CLOSED", "The result watcher is closed.", {
    hint: "create one watcher per process and close it when the process shuts down",
  });
