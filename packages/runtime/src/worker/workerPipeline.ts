import { entityNames, type ToolboxConfig } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { withCanvasBuiltins } from "../canvas/chordUnlockTask.js";
import { workerFollowUps } from "../canvas/workerFollowUps.js";
import { durableRetry } from "../consumer/transient.js";
import type { DeliveryObserver, FollowUps } from "../delivery/extensions.js";
import { followUpSender } from "../delivery/handlerContext.js";
import { DeliveryPipeline } from "../delivery/pipeline.js";
import type { RateLimits } from "../delivery/rateLimits.js";
import { type RowWriter, Settle, storeQuietly, type WorkerStats } from "../delivery/settle.js";
import type { Slots } from "../delivery/slots.js";
import type { StoredResult } from "../results/readResults.js";
import type { ResultStore } from "../results/resultStore.js";
import type { WorkerMetrics } from "./metrics.js";
import type { RevokedSet } from "./revocations.js";
import { type TaskRegistry, tracksStarted } from "./taskRegistry.js";

/** What a worker hands its delivery pipeline: its identity, its connections and its bookkeeping. */
export interface WorkerParts {
  config: ToolboxConfig;
  service: string;
  workerName: string;
  logger: Logger;
  tasks: TaskRegistry;
  revoked: RevokedSet;
  publisher: ConfirmPublisher;
  /** The batch writer: resolves once the row is committed. */
  rows: RowWriter;
  store: Pick<ResultStore, "hasSucceeded">;
  /** Stored results by task id (a chord's celery.chord_unlock polls its header with it). */
  readResults(taskIds: readonly string[]): Promise<ReadonlyMap<string, StoredResult>>;
  stats: WorkerStats;
  metrics: WorkerMetrics;
  /**
   * Extension points (delivery/extensions.ts). Celery's canvas (chain steps, callbacks, errbacks, a chord's
   * body) is the default follow-ups; Celery events plug in as the observer.
   */
  followUps?: FollowUps;
  observer?: DeliveryObserver;
  /** Handler slots (`worker.concurrency`) and per-task rate limits, both changed by remote control. */
  slots: Slots;
  rates?: RateLimits;
}

/** The delivery pipeline of one worker, wired to its connections. */
export function workerPipeline(parts: WorkerParts): DeliveryPipeline {
  const { config, service, logger, tasks, publisher, rows } = parts;
  const names = entityNames(config.environment.prefix);
  const queue = names.serviceQueue(service);
  const retry = durableRetry(logger, "publish or query failed; retrying");
  // Celery's builtin chord_unlock runs here whenever a chord's body is one of this service's tasks.
  const implementation = withCanvasBuiltins(tasks, (ids) => parts.readResults(ids));
  const followUps =
    parts.followUps ??
    workerFollowUps({
      target: () => ({ exchange: names.exchange, maxBytes: config.limits.maxMessageBytes }),
      rows,
      logger,
    });
  return new DeliveryPipeline({
    admit: {
      service,
      queue,
      delayQueuePrefix: `${names.delayExchange}.`,
      maxMessageBytes: config.limits.maxMessageBytes,
      implementation,
      revoked: (taskId) => parts.revoked.get(taskId),
    },
    policy: (impl) => tasks.policy(impl),
    slots: parts.slots,
    rates: parts.rates,
    revoked: parts.revoked,
    trackStarted: (impl) => tracksStarted(config, impl),
    hasSucceeded: (taskId, generation) => parts.store.hasSucceeded(taskId, generation),
    retry,
    services: {
      logger,
      queue,
      progress: (row) => storeQuietly(rows, logger, row),
      send: followUpSender(publisher, { exchange: names.exchange, maxBytes: config.limits.maxMessageBytes }),
    },
    settle: new Settle({
      config,
      service,
      workerName: parts.workerName,
      logger,
      publisher,
      exchanges: { dead: names.deadLetterExchange, delay: names.delayExchange },
      rows,
      retry,
      stats: parts.stats,
      metrics: parts.metrics,
      followUps,
      observer: parts.observer,
    }),
    metrics: parts.metrics,
    logger,
    observer: parts.observer,
  });
}
