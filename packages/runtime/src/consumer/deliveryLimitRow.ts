import { taskRef } from "../results/messageRows.js";
import type { TaskOutcome } from "../results/resultTypes.js";
import { brokerDeathTask, type DeadLetterCopy } from "./brokerDeath.js";

/**
 * A task whose worker died while running it (process.exit, out of memory, SIGKILL) on every delivery: the
 * quorum service queue counts the deliveries and, past `queue.deliveryLimit`, dead-letters it with reason
 * `delivery_limit`. No worker settled it, so no worker wrote its row; this is the FAILURE row, as Celery
 * writes WorkerLostError for a task whose worker process was lost, read from the copy of the dead letter
 * (`<prefix>.<service>.dead.watch`). A final row already stored (a run that committed and then crashed
 * before its ack) stays: the row store never changes a final row of the same generation.
 *
 * Only the broker's delivery limit in `serviceQueue` counts; a dead letter the worker stamped, another
 * queue's, another reason, or a message that does not decode gives undefined.
 */
export function deliveryLimitRow(copy: DeadLetterCopy, serviceQueue: string): TaskOutcome | undefined {
  const task = brokerDeathTask(copy, serviceQueue, "delivery_limit");
  if (!task) return undefined;
  const message =
    `Worker exited prematurely: its worker was lost (crashed or killed) on every delivery until the broker ` +
    `dead-lettered it at ${serviceQueue}'s delivery limit (queue.deliveryLimit); the message is in the ` +
    `service's dead-letter queue for worker-toolbox dlq replay`;
  return {
    ...taskRef(task, serviceQueue),
    state: "FAILURE",
    error: { type: "WorkerLostError", module: "billiard.exceptions", message },
  };
}
