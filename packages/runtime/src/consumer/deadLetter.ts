import type { ConsumeMessage } from "amqplib";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { type DeadLetterReason, republishProperties, stampDeadLetter } from "../protocol/envelope.js";

/** One dead letter: why, the error that says so, and how often the task ran (0 when it never started). */
export interface DeadLetter {
  reason: DeadLetterReason;
  error: Error;
  attempts: number;
}

export interface DeadLetterTarget {
  /** `<prefix>.dead`. */
  exchange: string;
  /** The service (or `platform`): the dead-letter exchange routes on it. */
  routingKey: string;
  /** Who dead-lettered it (`<service>@<host>:<pid>`, `tracker`). */
  by: string;
}

/**
 * Publish the original body with the dead-letter stamp to the dead-letter exchange; resolves once the
 * broker confirmed it (the caller acks only then).
 */
export function publishDeadLetter(
  publisher: ConfirmPublisher,
  target: DeadLetterTarget,
  message: ConsumeMessage,
  letter: DeadLetter,
): Promise<void> {
  const headers = stampDeadLetter(message.properties.headers, letter, {
    exchange: message.fields.exchange,
    routingKey: message.fields.routingKey,
    by: target.by,
  });
  return publisher.publish({
    exchange: target.exchange,
    routingKey: target.routingKey,
    content: message.content,
    properties: republishProperties(message, headers),
  });
}
