import { taskRef } from "../results/messageRows.js";
import type { TaskOutcome } from "../results/resultTypes.js";
import { brokerDeathTask, type DeadLetterCopy } from "./brokerDeath.js";

/**
 * A task that expired while it waited in its service queue (the producer's per-message TTL from `expires`)
 * never reaches a worker: RabbitMQ dead-letters it with reason `expired`. Celery records an expired task as
 * REVOKED wherever it expires; this is the row for one that expired in the queue, read from the copy of
 * the dead letter (`<prefix>.<service>.dead.watch`, consumed by the service's workers).
 *
 * Only the broker's own expiry in `serviceQueue` counts: a dead letter the worker stamped (a failure), or
 * one whose latest death is elsewhere (a delay rung's TTL dead-letters every parked retry with reason
 * `expired` too), or a message that does not decode, gives undefined.
 */
export function expiredInQueueRow(copy: DeadLetterCopy, serviceQueue: string): TaskOutcome | undefined {
  const task = brokerDeathTask(copy, serviceQueue, "expired");
  if (!task) return undefined;
  const when = task.expires ? ` at ${task.expires.toISOString()}` : "";
  return { ...taskRef(task, serviceQueue), state: "REVOKED", reason: `expired${when} while queued` };
}
