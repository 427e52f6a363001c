import type { ToolboxError } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { WorkerState } from "./workerTypes.js";

/**
 * The worker's state line. A failure is reported once: while starting, start() rejects with it and its caller
 * reports it (the template's installCrashReporter), so the line only says `failed`; a worker that was ready
 * has no such caller, so its line is the report, at error level with the code and fix. The broker connection
 * leaves this to the worker (`failureReport: "owner"`).
 */
export function logWorkerState(
  logger: Logger,
  state: WorkerState,
  error: ToolboxError | undefined,
  wasReady: boolean,
): void {
  if (state === "failed" && error && wasReady) {
    const { code, hint, message } = error;
    logger.error({ state, code, hint, err: message }, "worker failed for good; only a restart can help");
  } else {
    logger.info({ state, err: state === "failed" ? undefined : error?.message }, "worker state");
  }
}
