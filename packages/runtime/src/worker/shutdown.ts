import type { Logger } from "pino";

export interface SignalHandlerOptions {
  signals?: readonly NodeJS.Signals[];
  /** Exit the process after closing (0 when clean); default true. */
  exit?: boolean;
  logger?: Logger;
}

/** What installSignalHandlers stops: a worker, or anything with `close()` (and `shutdown` events, optionally). */
export interface Stoppable {
  close(): Promise<void>;
  on?(event: "shutdown", listener: (reason: string) => void): unknown;
  off?(event: "shutdown", listener: (reason: string) => void): unknown;
}

/**
 * SIGTERM/SIGINT → `worker.close()` → exit 0. A second signal exits at once with 1. Remote control's
 * `shutdown` command (the worker's `shutdown` event; Celery's `app.control.shutdown()`) does what SIGTERM
 * does. Returns a function that removes the handlers.
 */
export function installSignalHandlers(worker: Stoppable, options: SignalHandlerOptions = {}): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  let stopping = false;
  const stop = (why: Record<string, unknown>) => {
    if (stopping) return false;
    stopping = true;
    options.logger?.info(why, "shutting down");
    worker.close().then(
      () => {
        if (options.exit !== false) process.exit(0);
      },
      (error: Error) => {
        options.logger?.error({ err: error.message }, "shutdown failed");
        if (options.exit !== false) process.exit(1);
      },
    );
    return true;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop({ signal })) return;
    options.logger?.warn({ signal }, "second signal: exiting now");
    process.exit(1);
  };
  const onRemote = (reason: string) => stop({ remote: reason });
  for (const signal of signals) process.on(signal, onSignal);
  worker.on?.("shutdown", onRemote);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
    worker.off?.("shutdown", onRemote);
  };
}
