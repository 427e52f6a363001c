/** What `createWorker` takes and returns (worker/createWorker.ts), and the states a worker goes through. */
import type { EventEmitter } from "node:events";
import type { ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type pg from "pg";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { WorkerStats } from "../delivery/settle.js";
import type { HealthServer } from "../health/startHealthServer.js";
import type { TaskImplementation } from "./implementTask.js";

/**
 *   starting ──(topology declared, consumer active)──► ready ◄──(resubscribed)── recovering
 *                                                        │                          ▲
 *                                                        └──(connection lost, consumer cancelled)
 *   any ──(bad credentials, unknown vhost, TLS, topology drift)──► failed
 *   close() / SIGTERM ──► stopping ──(in-flight done or returned, results flushed)──► stopped
 */
export type WorkerState = "starting" | "ready" | "recovering" | "stopping" | "stopped" | "failed";

export interface WorkerOptions {
  config: ToolboxConfig;
  /** `implementTask(contract, handler)` for every task of `config.service`. */
  tasks: readonly TaskImplementation[];
  logger?: Logger;
  /** Result backend pool (the least-privilege worker role); created from config.database when omitted. */
  pool?: pg.Pool;
  /** Prometheus registry for the worker's metrics; default a new one the worker owns (`worker.metrics`). */
  registry?: Registry;
  /** Also collect prom-client's process metrics (CPU, memory, event loop lag) into the registry. */
  processMetrics?: boolean;
}

/**
 * `state`: every change of state. `shutdown`: remote control's `shutdown` command arrived (the worker then
 * stops as on SIGTERM; installSignalHandlers exits the process once it has).
 */
export interface WorkerEvents {
  state: [state: WorkerState, error: ToolboxError | undefined];
  shutdown: [reason: string];
}

export interface Worker extends EventEmitter<WorkerEvents> {
  readonly state: WorkerState;
  /** The worker's Celery node name, `<service>-<pid>@<host>`: in result rows, events and `celery inspect`. */
  readonly nodeName: string;
  readonly lastError: ToolboxError | undefined;
  /** `heldBytes`: bytes of the messages held now (delivered, not yet settled; worker.maxInFlightBytes). */
  readonly stats: Readonly<
    WorkerStats & { running: number; pendingResults: number; heldBytes: number; peakHeldBytes: number }
  >;
  /** Connect, declare, subscribe. Resolves once the consumer is active; rejects on a fatal broker error. */
  start(): Promise<void>;
  /** Readiness: true while the consumer is active (for /readyz). */
  ready(): boolean;
  /** The broker node in use (the last one while reconnecting), password masked; shown by the health endpoint. */
  readonly brokerNode: string | undefined;
  /** The worker's Prometheus metrics (docs/observability.md). */
  readonly metrics: Registry;
  /** The /healthz, /readyz and /metrics endpoint, started by start() when `worker.healthPort` is set. */
  readonly healthServer: HealthServer | undefined;
  /**
   * Resolve once the result database takes this worker's writes (`ResultStore.checkWrites`, rolled back);
   * rejects with DATABASE_PERMISSION_DENIED, DATABASE_NOT_MIGRATED or DATABASE_UNAVAILABLE. /readyz asks it.
   */
  pingDatabase(timeoutMs?: number): Promise<void>;
  /** Revoke tasks on every worker of the environment and record them REVOKED. */
  revoke(taskId: string | readonly string[], options?: { reason?: string }): Promise<void>;
  /**
   * Stop consuming, let running tasks finish for `graceMs` (default worker.shutdownGraceMs), then abort them
   * and return their messages to the queue; flush results; close connections.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}
