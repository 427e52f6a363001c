import type { ConsumeMessage, MessageProperties, Options } from "amqplib";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";

/**
 * Why a message went to the service's dead-letter queue. The original body travels unchanged, with the
 * reason in `x-wt-*` headers, so `worker-toolbox dlq` can show it and replay it to its routing key.
 */
export type DeadLetterReason =
  | "malformed"
  | "unknown-task"
  | "invalid-arguments"
  | "permanent-error"
  | "retries-exhausted"
  | "invalid-result"
  | "unstorable-result"
  /** The tracker: the tracking row for this platform-queue message was refused by the database. */
  | "unstorable-tracking";

export interface DeadLetter {
  reason: DeadLetterReason;
  error: Error;
  /** Times the task ran (0 when it never started: malformed, unknown, invalid arguments). */
  attempts: number;
}

const MAX_MESSAGE = 2_000;
const MAX_STACK = 4_000;

export function deadLetterHeaders(
  message: ConsumeMessage,
  letter: DeadLetter,
  workerName: string,
  now = new Date(),
): Record<string, unknown> {
  return {
    ...message.properties.headers,
    "x-wt-reason": letter.reason,
    "x-wt-error-class": letter.error.name || "Error",
    "x-wt-error-message": String(letter.error.message).slice(0, MAX_MESSAGE),
    "x-wt-error-stack": (letter.error.stack ?? "").slice(0, MAX_STACK),
    "x-wt-attempts": letter.attempts,
    "x-wt-original-exchange": message.fields.exchange,
    "x-wt-original-routing-key": message.fields.routingKey,
    "x-wt-dead-lettered-at": now.toISOString(),
    "x-wt-dead-lettered-by": workerName,
  };
}

/**
 * The original properties for a republish: no `expiration` (a dead letter or delayed message must not
 * silently expire on the way) and no `userId` (the broker checks it against the publishing user).
 */
export function republishProperties(
  message: { properties: Partial<MessageProperties> },
  headers: Record<string, unknown>,
): Options.Publish {
  const p = message.properties;
  const properties: Options.Publish = { deliveryMode: 2, headers };
  if (p.contentType !== undefined) properties.contentType = p.contentType;
  if (p.contentEncoding !== undefined) properties.contentEncoding = p.contentEncoding;
  if (p.correlationId !== undefined) properties.correlationId = p.correlationId;
  if (p.priority !== undefined) properties.priority = p.priority;
  if (p.replyTo !== undefined) properties.replyTo = p.replyTo;
  if (p.type !== undefined) properties.type = p.type;
  if (p.appId !== undefined) properties.appId = p.appId;
  if (p.timestamp !== undefined) properties.timestamp = p.timestamp;
  return properties;
}

/** Publish to `<prefix>.dead` with routing key = service; resolves once the broker confirmed it. */
export function publishDeadLetter(
  publisher: ConfirmPublisher,
  target: { exchange: string; service: string; workerName: string },
  message: ConsumeMessage,
  letter: DeadLetter,
): Promise<void> {
  return publisher.publish({
    exchange: target.exchange,
    routingKey: target.service,
    content: message.content,
    properties: republishProperties(message, deadLetterHeaders(message, letter, target.workerName)),
  });
}
