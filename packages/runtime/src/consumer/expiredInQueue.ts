import { decodeTaskMessage, type IncomingProperties } from "../protocol/decodeTaskMessage.js";
import { lastDeath, readDeadLetterStamp } from "../protocol/envelope.js";
import { taskRef } from "../results/messageRows.js";
import type { TaskOutcome } from "../results/resultTypes.js";

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
export interface DeadLetterCopy {
  content: Buffer;
  properties: { headers?: Record<string, unknown> | undefined } & IncomingProperties;
}

export function expiredInQueueRow(copy: DeadLetterCopy, serviceQueue: string): TaskOutcome | undefined {
  const headers = copy.properties.headers;
  if (readDeadLetterStamp(headers)) return undefined;
  const death = lastDeath(headers);
  if (death?.reason !== "expired" || death.queue !== serviceQueue) return undefined;
  let task: ReturnType<typeof decodeTaskMessage>;
  try {
    task = decodeTaskMessage(copy.content, copy.properties);
  } catch {
    return undefined;
  }
  const when = task.expires ? ` at ${task.expires.toISOString()}` : "";
  return { ...taskRef(task, serviceQueue), state: "REVOKED", reason: `expired${when} while queued` };
}
