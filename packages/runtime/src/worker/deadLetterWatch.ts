import type { ChannelModel } from "amqplib";
import type { Logger } from "pino";
import { AckTracker } from "../consumer/acks.js";
import { deliveryLimitRow } from "../consumer/deliveryLimitRow.js";
import { expiredInQueueRow } from "../consumer/expiredInQueue.js";
import { isRowError } from "../consumer/transient.js";
import { Delivery } from "../delivery/delivery.js";
import type { RowWriter } from "../delivery/settle.js";
import type { TaskOutcome } from "../results/resultTypes.js";

export interface DeadLetterWatchOptions {
  /** `<prefix>.<service>.dead.watch`: a copy of every dead letter of the service. */
  queue: string;
  /** `<prefix>.<service>`: where an expiry must have happened to count. */
  serviceQueue: string;
  /** The worker's batch writer. */
  rows: RowWriter;
  logger: Logger;
  /** The worker's "stop retrying" signal (its shutdown deadline). */
  stop: AbortSignal;
  /** Told of every REVOKED row stored (metrics, stats); not of one whose task's final row already stood. */
  revoked?(row: TaskOutcome): void;
  /**
   * Told of every FAILURE row stored for a task past the delivery limit (metrics, stats); not of one whose
   * task's final row already stood (the store kept it).
   */
  failed?(row: TaskOutcome): void;
}

/** Copies taken at a time: REVOKED rows are written in the worker's batches. */
const PREFETCH = 50;

/**
 * Consume the service's dead-letter copies: a task the broker expired in the service queue gets its REVOKED
 * row (consumer/expiredInQueue.ts), one it dead-lettered at the delivery limit (its worker died on every
 * delivery) its FAILURE row (consumer/deliveryLimitRow.ts), each acked once the row is committed; every other
 * copy is acked at once (the
 * dead letter itself stays in `<prefix>.<service>.dead` for `worker-toolbox dlq`). A row that could not be
 * written while closing returns the copy to the queue. The service's workers share the queue, so each copy is handled
 * once; copies that arrive while no worker runs wait for the next one.
 */
export async function watchDeadLetters(conn: ChannelModel, options: DeadLetterWatchOptions): Promise<void> {
  const { logger } = options;
  const channel = await conn.createChannel();
  channel.on("error", (error: Error) =>
    logger.warn({ err: error.message }, "dead-letter watch channel error"),
  );
  await channel.prefetch(PREFETCH);
  const acks = new AckTracker(channel, options.stop);
  await channel.consume(options.queue, (message) => {
    if (!message) return; // Cancelled (queue deleted): the next reconnect declares and consumes it again.
    const delivery = new Delivery(message, acks);
    const row =
      expiredInQueueRow(message, options.serviceQueue) ?? deliveryLimitRow(message, options.serviceQueue);
    if (!row) return delivery.ack();
    const what = row.state === "REVOKED" ? "an expired task" : "a task past the delivery limit";
    options.rows.add(row).then(
      (summary) => {
        // The store says whether it wrote the row: a final row already there (a run that committed its
        // SUCCESS and then crashed before its ack, on every delivery) stays, and nothing is counted for it.
        report(options, row, summary.stored(row));
        delivery.ack();
      },
      (error: Error) => {
        logger.warn({ taskId: row.taskId, err: error.message }, `${row.state} row of ${what} not stored`);
        // Refused for what it holds: it would be refused again. Otherwise (closing) another worker retries.
        if (isRowError(error)) delivery.ack();
        else delivery.giveBack();
      },
    );
  });
}

/** Log what the watch did with `row`, and tell the worker (metrics, stats) of a row it `stored`. */
function report(options: DeadLetterWatchOptions, row: TaskOutcome, stored: boolean): void {
  const fields = { taskId: row.taskId, task: row.name };
  const kept = "its final state was already recorded and is kept";
  if (row.state === "REVOKED") {
    options.logger.info(fields, `task expired in the queue; ${stored ? "recorded REVOKED" : kept}`);
    if (stored) options.revoked?.(row);
    return;
  }
  const line = "task dead-lettered at the delivery limit (its worker died on every delivery)";
  if (!stored) {
    options.logger.warn(fields, `${line}; ${kept}`);
    return;
  }
  options.logger.error(fields, `${line}; recorded FAILURE`);
  options.failed?.(row);
}
