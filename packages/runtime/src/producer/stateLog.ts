import type { ToolboxError } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { ProducerState } from "./types.js";

/**
 * The callers waiting for a new producer's first connection — ready() calls and sends (send, sendMany,
 * apply) — counted while they wait. When the start fails they are handed the error, and their caller
 * reports it (a script's installCrashReporter, `worker-toolbox send`, a web app's error handler).
 */
export class StartWaiters {
  private readyCalls = 0;
  private sends = 0;

  /** A ready() call's wait, counted until it settles. */
  ready<T>(waiting: Promise<T>): Promise<T> {
    this.readyCalls++;
    return waiting.finally(() => this.readyCalls--);
  }

  /** A send's wait for the first connection, counted until it settles. */
  send<T>(waiting: Promise<T>): Promise<T> {
    this.sends++;
    return waiting.finally(() => this.sends--);
  }

  /**
   * Whether entering `state` hands its error to a waiting caller: a failed start rejects every waiter with
   * it; an unavailable one (the start grace passed) rejects a waiting send with PUBLISH_CIRCUIT_OPEN naming
   * it — unless the offline buffer holds the send — and a ready() call with it at its timeout.
   */
  told(state: ProducerState, offlineBufferSize: number): boolean {
    if (state === "failed") return this.readyCalls + this.sends > 0;
    if (state === "unavailable") return this.readyCalls > 0 || (this.sends > 0 && offlineBufferSize === 0);
    return false;
  }
}

/**
 * The producer's state line. A failure is reported once: when a waiting caller was handed the error (`told`),
 * the line only names the state; otherwise it is the report, with the code and fix — `unavailable` at warn
 * (it reconnects in the background), `failed` at error (only a new producer can help). The broker connection
 * leaves its failure to the producer (`failureReport: "owner"`).
 */
export function logProducerState(
  logger: Logger,
  state: ProducerState,
  error: ToolboxError | undefined,
  told: boolean,
): void {
  const reported = { code: error?.code, hint: error?.hint, err: error?.message };
  if (state === "available") logger.info("producer available");
  else if ((state === "unavailable" || state === "failed") && told) logger.info({ state }, "producer state");
  else if (state === "unavailable") logger.warn(reported, "producer unavailable");
  else if (state === "failed")
    logger.error(reported, "producer failed for good; only a new producer can help");
}
