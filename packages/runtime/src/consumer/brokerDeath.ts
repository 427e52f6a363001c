import type { TaskMessage } from "../protocol/celeryMessage.js";
import { decodeTaskMessage, type IncomingProperties } from "../protocol/decodeTaskMessage.js";
import { lastDeath, readDeadLetterStamp } from "../protocol/envelope.js";

/** A copy of a dead letter, as `<prefix>.<service>.dead.watch` delivers it. */
export interface DeadLetterCopy {
  content: Buffer;
  properties: { headers?: Record<string, unknown> | undefined } & IncomingProperties;
}

/**
 * The task in `copy` when the broker itself dead-lettered it from `queue` for `reason` (its latest x-death
 * entry); undefined for a dead letter a worker stamped, a death elsewhere or for another reason, or a
 * message that does not decode.
 */
export function brokerDeathTask(
  copy: DeadLetterCopy,
  queue: string,
  reason: "expired" | "delivery_limit",
): TaskMessage | undefined {
  const headers = copy.properties.headers;
  if (readDeadLetterStamp(headers)) return undefined;
  const death = lastDeath(headers);
  if (death?.reason !== reason || death.queue !== queue) return undefined;
  try {
    return decodeTaskMessage(copy.content, copy.properties);
  } catch {
    return undefined;
  }
}
