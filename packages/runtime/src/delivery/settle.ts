import { isToolboxError, type ToolboxConfig } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { ConfirmPublisher, PublishRequest } from "../broker/confirmPublisher.js";
import { publishDeadLetter } from "../consumer/deadLetter.js";
import { type DurableRetry, isRowError } from "../consumer/transient.js";
import { H } from "../protocol/envelope.js";
import { traceIdOf } from "../protocol/traceContext.js";
import type { TaskOutcome, WriteSummary } from "../results/resultTypes.js";
import type { WorkerMetrics } from "../worker/metrics.js";
import type { Delivery } from "./delivery.js";
import type { DeliveryObserver, FollowUps } from "./extensions.js";
import { delayUntilDue, publishRetry } from "./republish.js";
import {
  type DeadLetter,
  type Delay,
  type Done,
  deadLetter,
  type GiveBack,
  handlerFailed,
  type Retry,
  type Verdict,
} from "./verdict.js";

export interface WorkerStats {
  succeeded: number;
  /**
   * Failed runs, as `tasks_failed_total` counts them: every failing handler attempt (also in `retried` or
   * `deadLettered`), and each task the broker dead-lettered at the delivery limit whose FAILURE row this
   * worker's dead-letter watch stored.
   */
  failed: number;
  retried: number;
  deadLettered: number;
  revoked: number;
  delayed: number;
  skipped: number;
  requeued: number;
}

/** All counts at zero. */
export function newWorkerStats(): WorkerStats {
  return {
    succeeded: 0,
    failed: 0,
    retried: 0,
    deadLettered: 0,
    revoked: 0,
    delayed: 0,
    skipped: 0,
    requeued: 0,
  };
}

/**
 * Where rows go: `add` resolves once the row is committed (the batch writer), with the store's report of
 * that write (`summary.stored(row)`: whether the row now holds it, or the store kept what it had).
 */
export interface RowWriter {
  add(row: TaskOutcome): Promise<WriteSummary>;
}

export interface SettleOptions {
  config: ToolboxConfig;
  service: string;
  workerName: string;
  logger: Logger;
  publisher: ConfirmPublisher;
  exchanges: { dead: string; delay: string };
  rows: RowWriter;
  retry: DurableRetry;
  stats: WorkerStats;
  metrics: WorkerMetrics;
  followUps?: FollowUps;
  observer?: DeliveryObserver;
}

/** Publish errors a retry message can never get past (it cannot even be built). */
const UNPUBLISHABLE = ["MESSAGE_INVALID", "MESSAGE_TOO_LARGE", "MESSAGE_NOT_SERIALIZABLE"] as const;

/**
 * The one place a worker's delivery is settled: it writes the verdict's rows, publishes (retries, dead
 * letters, follow-ups), counts, logs, and then acks — or gives the message back. Nothing else acks.
 *
 * When carrying out a verdict fails, settle falls back to another verdict instead of leaving the message
 * unacknowledged until its channel dies (which would also hold back the acks of every later message on
 * that channel): a row the database refuses for its content becomes an `unstorable-result` dead letter, a
 * retry that cannot be built a `retries-exhausted` one, and anything else (closing, the channel gone) a
 * give-back, so the broker hands the message out again.
 */
export class Settle {
  constructor(private readonly options: SettleOptions) {}

  /**
   * Carry out `verdict`, then ack (or give back). Returns a promise while something is awaited (a row's
   * commit, a publish's confirm), undefined when it settled at once. Written with `then` rather than
   * `async`: a worker settles every message here, and most verdicts wait for one row and nothing else.
   */
  settle(delivery: Delivery, verdict: Verdict): Promise<void> | undefined {
    if (verdict.kind === "give-back") {
      this.giveBack(delivery, verdict);
      return undefined;
    }
    let pending: Promise<unknown> | undefined;
    try {
      pending = this.carryOut(delivery, verdict);
    } catch (error) {
      return this.settle(delivery, this.fallback(verdict, error));
    }
    if (!pending) {
      this.finish(delivery, verdict);
      return undefined;
    }
    return pending.then(
      () => this.finish(delivery, verdict),
      (error: unknown) => this.settle(delivery, this.fallback(verdict, error)),
    );
  }

  private carryOut(
    delivery: Delivery,
    verdict: Done | Retry | Delay | DeadLetter,
  ): Promise<unknown> | undefined {
    switch (verdict.kind) {
      case "done":
        return this.done(delivery, verdict);
      case "retry":
        return Promise.all([
          this.durably(delivery, () =>
            publishRetry(this.delayTarget(), verdict.task, verdict.delayMs, Date.now(), routingKey(delivery)),
          ),
          verdict.row && this.storeQuietly(verdict.row),
        ]);
      case "delay":
        return this.durably(delivery, () =>
          delayUntilDue(this.delayTarget(), delivery.message, routingKey(delivery), verdict.delayMs),
        );
      case "dead-letter":
        return this.deadLetter(delivery, verdict);
    }
  }

  /** The row committed, then the follow-ups (planned only once the row is in) confirmed. */
  private done(delivery: Delivery, verdict: Done): Promise<unknown> | undefined {
    const stored = verdict.row && this.options.rows.add(verdict.row);
    if (!this.options.followUps) return stored;
    if (!stored) return this.followUps(delivery, verdict);
    return stored.then(() => this.followUps(delivery, verdict));
  }

  private async deadLetter(delivery: Delivery, letter: DeadLetter): Promise<void> {
    const { logger, publisher, exchanges, service, workerName } = this.options;
    const headers = delivery.message.properties.headers;
    logger.error(
      {
        reason: letter.reason,
        taskId: letter.row?.taskId,
        task: letter.row?.name,
        // From the raw headers: a message dead-lettered as malformed never decoded.
        traceId: traceIdOf(headers?.[H.traceparent], String(headers?.root_id ?? "")),
        attempts: letter.attempts,
        err: letter.error.message,
      },
      "dead-lettering task message",
    );
    const target = { exchange: exchanges.dead, routingKey: service, by: workerName };
    await Promise.all([
      this.durably(delivery, () => publishDeadLetter(publisher, target, delivery.message, letter)),
      letter.row ? this.storeQuietly(letter.row) : undefined,
    ]);
    await this.followUps(delivery, letter);
  }

  /** Publish what the planner returns, each confirmed; undefined when there is nothing to publish. */
  private followUps(delivery: Delivery, verdict: Done | DeadLetter): Promise<unknown> | undefined {
    const planner = this.options.followUps;
    if (!planner) return undefined;
    const planned = planner.plan(verdict, delivery);
    if (!(planned instanceof Promise)) return this.publishAll(delivery, planned);
    return planned.then((requests) => this.publishAll(delivery, requests));
  }

  private publishAll(delivery: Delivery, requests: readonly PublishRequest[]): Promise<unknown> | undefined {
    if (requests.length === 0) return undefined;
    return Promise.all(
      requests.map((request) => this.durably(delivery, () => this.options.publisher.publish(request))),
    );
  }

  /** What settling comes to when carrying out `verdict` failed with `error`. */
  private fallback(verdict: Done | Retry | Delay | DeadLetter, error: unknown): Verdict {
    const attempts =
      verdict.kind === "dead-letter" ? verdict.attempts : verdict.task ? verdict.task.retries + 1 : 0;
    const ref = verdict.kind === "done" ? verdict.ref : undefined;
    if (verdict.kind === "done" && isRowError(error)) {
      // A row the database refuses for what it holds would be refused again after a redelivery.
      return deadLetter("unstorable-result", error as Error, attempts, ref, verdict.task);
    }
    if (verdict.kind === "retry" && UNPUBLISHABLE.some((code) => isToolboxError(error, code))) {
      // The retry message itself cannot be built: dead-letter the original instead of looping.
      return deadLetter("retries-exhausted", error as Error, attempts, verdict.ref, verdict.task);
    }
    return { kind: "give-back", why: "unsettled", error };
  }

  /** Count, log, tell the observer, ack. */
  private finish(delivery: Delivery, verdict: Done | Retry | Delay | DeadLetter): void {
    const { stats, metrics, logger } = this.options;
    const task = verdict.task;
    if (handlerFailed(verdict)) {
      stats.failed += 1;
      metrics.failed(task!.task);
    }
    switch (verdict.kind) {
      case "done":
        if (verdict.tally === "dropped")
          logger.warn({ taskId: delivery.message.properties.headers?.id }, `dropping ${verdict.note}`);
        else stats[verdict.tally] += 1;
        if (verdict.tally === "succeeded") metrics.succeeded(task!.task);
        else if (verdict.tally === "revoked") metrics.revoked(task?.task);
        break;
      case "retry":
        stats.retried += 1;
        metrics.retried(verdict.task.task);
        logger.info(
          {
            task: verdict.task.task,
            taskId: verdict.task.id,
            traceId: traceIdOf(verdict.task.extraHeaders[H.traceparent], verdict.task.rootId),
            attempt: verdict.task.retries + 1,
            delayMs: verdict.delayMs,
            err: verdict.error.message,
          },
          "task failed; retry scheduled",
        );
        break;
      case "delay":
        stats.delayed += 1;
        break;
      case "dead-letter":
        stats.deadLettered += 1;
        metrics.deadLettered(verdict.row?.name, verdict.reason);
        break;
    }
    this.options.observer?.settled?.(verdict, delivery);
    delivery.ack();
  }

  private giveBack(delivery: Delivery, verdict: GiveBack): void {
    const { stats, logger } = this.options;
    const taskId = delivery.message.properties.headers?.id;
    if (verdict.why === "shutdown") logger.warn({ taskId }, "returned to the queue at shutdown");
    else {
      const error = verdict.error as Error | undefined;
      // Closing or the channel gone: expected while stopping; anything else is worth a warning.
      const level = isToolboxError(error, "CLOSED") || delivery.stopped.aborted ? "debug" : "warn";
      logger[level](
        { taskId, err: error?.message },
        "could not settle the delivery; it returns to the queue",
      );
    }
    stats.requeued += 1;
    this.options.observer?.settled?.(verdict, delivery);
    delivery.giveBack();
  }

  private storeQuietly(row: TaskOutcome): Promise<void> {
    return storeQuietly(this.options.rows, this.options.logger, row);
  }

  private durably<T>(delivery: Delivery, fn: () => Promise<T>): Promise<T> {
    return this.options.retry.run(fn, delivery.stopped);
  }

  private delayTarget() {
    return {
      config: this.options.config,
      publisher: this.options.publisher,
      exchange: this.options.exchanges.delay,
    };
  }
}

/**
 * Store a row whose loss does not change where the message goes (RETRY, the FAILURE beside a dead letter,
 * a handler's PROGRESS): a row the database refuses is logged, not fatal. Closing still propagates.
 */
export async function storeQuietly(rows: RowWriter, logger: Logger, row: TaskOutcome): Promise<void> {
  try {
    await rows.add(row);
  } catch (error) {
    if (!isRowError(error)) throw error;
    logger.warn({ taskId: row.taskId, state: row.state, err: (error as Error).message }, "row not stored");
  }
}

/**
 * The routing key a task goes back through the topic exchange with: the one it arrived with (the task name,
 * or `<service>.#` for a chord's `celery.chord_unlock`, whose name no service binding matches).
 */
function routingKey(delivery: Delivery): string {
  const key = delivery.message.fields.routingKey;
  return key || String(delivery.message.properties.headers?.task ?? "");
}
