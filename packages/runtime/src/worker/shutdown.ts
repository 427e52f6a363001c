import type { Logger } from "pino";

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
