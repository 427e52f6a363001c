import type { Logger } from "pino";
import { WorkerShutdownError } from "./errors.js";
import type { WorkerRuntime } from "./handleDelivery.js";

/**
 * Graceful stop, in the order that loses nothing:
 *  1. refuse new work: cancel the consumer; deliveries still waiting for a handler slot go back (nack+requeue);
 *  2. let running handlers finish for `graceMs`;
 *  3. abort the rest (AbortSignal) and return their messages to the queue at once;
 *  4. flush result rows and wait for confirms, so finished tasks get their ack;
 *  5. past that deadline stop retrying: whatever is still unacknowledged returns when the channel closes.
 */
export interface DrainOptions {
  graceMs: number;
  logger: Logger;
  rt: WorkerRuntime;
  deliveries: Set<Promise<void>>;
  cancelConsumer: () => Promise<void>;
  hardStop: () => void;
}

/** How long, after the grace period, finished tasks may take to store their rows and be acked. */
const SETTLE_MS = 10_000;

export async function drain(options: DrainOptions): Promise<void> {
  const { rt, logger, graceMs } = options;
  await options.cancelConsumer();
  rt.slots.close();
  const runningCount = () => [...rt.running.values()].reduce((n, set) => n + set.size, 0);
  logger.info({ running: runningCount(), graceMs }, "shutting down: waiting for running tasks");

  const graceEnd = Date.now() + graceMs;
  while (runningCount() > 0 && Date.now() < graceEnd) await sleep(Math.min(50, graceEnd - Date.now()));

  const reason = new WorkerShutdownError(graceMs);
  for (const set of rt.running.values()) {
    for (const running of set) {
      running.returned = true;
      running.acks.requeue(running.message);
      rt.stats.requeued += 1;
      logger.warn(
        { taskId: running.message.properties.headers?.id },
        "task aborted at shutdown and returned to the queue",
      );
      running.controller.abort(reason);
    }
  }

  const settled = Promise.allSettled([rt.batcher.flush(), ...options.deliveries]);
  const timedOut = await Promise.race([settled.then(() => false), sleep(SETTLE_MS).then(() => true)]);
  if (timedOut) {
    logger.warn(
      { pendingResults: rt.batcher.pending },
      "results not stored in time; their messages will be redelivered",
    );
  }
  options.hardStop();
  rt.batcher.abandon();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

export interface SignalHandlerOptions {
  signals?: readonly NodeJS.Signals[];
  /** Exit the process after closing (0 when clean); default true. */
  exit?: boolean;
  logger?: Logger;
}

/**
 * SIGTERM/SIGINT → `worker.close()` → exit 0. A second signal exits at once with 1. Returns a function
 * that removes the handlers.
 */
export function installSignalHandlers(
  worker: { close(): Promise<void> },
  options: SignalHandlerOptions = {},
): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.logger?.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    options.logger?.info({ signal }, "signal received: shutting down");
    worker.close().then(
      () => {
        if (options.exit !== false) process.exit(0);
      },
      (error: Error) => {
        options.logger?.error({ err: error.message }, "shutdown failed");
        if (options.exit !== false) process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
