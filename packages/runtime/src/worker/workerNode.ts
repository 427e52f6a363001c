/** A worker as a Celery node: its name, and the worker events it sends under that name. */

import { hostname } from "node:os";
import { entityNames, type ToolboxConfig } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { WorkerStats } from "../delivery/settle.js";
import { WorkerEvents } from "../events/workerEvents.js";
import { EventSource } from "../protocol/celeryEvents.js";
import { runtimeVersion } from "../version.js";

const workersPerService = new Map<string, number>();

/**
 * `<service>-<pid>@<host>`, and `-2`, `-3`... for further workers of the service in one process: node
 * names must be unique, or remote-control replies (keyed by node name) overwrite each other.
 */
export function nodeNameFor(service: string): string {
  const count = (workersPerService.get(service) ?? 0) + 1;
  workersPerService.set(service, count);
  return `${service}-${process.pid}${count > 1 ? `-${count}` : ""}@${hostname()}`;
}

/** Celery's worker-online/heartbeat/offline on `<prefix>.celeryev`, with what the dashboard reads (config.worker.events). */
export function workerEvents(
  config: ToolboxConfig,
  workerName: string,
  taskNames: readonly string[],
  logger: Logger,
  stats: () => WorkerStats & { running: number },
  /** The worker's Lamport clock, shared with its remote control. */
  source = new EventSource(workerName),
  /** Handlers running at once now (remote control's pool_grow/pool_shrink change it). */
  concurrency = () => config.worker.concurrency,
): WorkerEvents {
  return new WorkerEvents({
    exchange: entityNames(config.environment.prefix).eventExchange,
    source,
    heartbeatMs: config.worker.heartbeatMs,
    identity: {
      swIdent: "worker-toolbox",
      swVer: runtimeVersion(),
      service: config.service ?? "",
      toolboxVersion: runtimeVersion(),
      tasks: [...taskNames].sort(),
      get concurrency() {
        return concurrency();
      },
    },
    counts: () => {
      const { running, succeeded, retried, deadLettered, revoked } = stats();
      return { active: running, processed: succeeded + retried + deadLettered + revoked };
    },
    logger,
  });
}
