import {
  type AnyTaskContract,
  formatDelay,
  pickDelayRung,
  type RetryPolicy,
  retryDelayMs,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import type { ConsumeMessage } from "amqplib";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { retryMessage, type TaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";
import { H, republishProperties, resendHeaders } from "../protocol/envelope.js";
import { PermanentError, RetryableError } from "./errors.js";

/** The configured retry policy with the contract's overrides. */
export function retryPolicyFor(config: ToolboxConfig, contract: AnyTaskContract): RetryPolicy {
  return { ...config.retry, ...contract.retry };
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  | { retry: false; reason: "permanent-error" | "retries-exhausted" };

/** What to do after attempt number `attempt` (1-based) failed with `error`. */
export function decideRetry(
  policy: RetryPolicy,
  attempt: number,
  error: unknown,
  random: () => number = Math.random,
): RetryDecision {
  if (error instanceof PermanentError) return { retry: false, reason: "permanent-error" };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: "retries-exhausted" };
  const delayMs =
    error instanceof RetryableError && error.delayMs !== undefined
      ? error.delayMs
      : retryDelayMs(policy, attempt, random);
  return { retry: true, delayMs };
}

interface DelayTarget {
  config: ToolboxConfig;
  publisher: ConfirmPublisher;
  delayExchange: string;
}

/**
 * Park a message in the delay rung for `delayMs` (the largest rung not longer than it). When the rung's
 * TTL expires the broker dead-letters it back into the topic exchange with the task name as routing key;
 * a message still not due is sent round again. Resolves once the broker confirmed it.
 */
function publishDelayed(
  target: DelayTarget,
  routingKey: string,
  content: Buffer,
  properties: ReturnType<typeof republishProperties>,
  delayMs: number,
): Promise<void> {
  const rung = pickDelayRung(target.config, delayMs);
  properties.headers = { ...properties.headers, [H.delay]: formatDelay(rung) };
  return target.publisher.publish({ exchange: target.delayExchange, routingKey, content, properties });
}

/** A message whose eta is in the future goes back to the broker unchanged (never held unacked here). */
export function delayUntilDue(
  target: DelayTarget,
  message: ConsumeMessage,
  task: string,
  remainingMs: number,
) {
  const properties = republishProperties(message, resendHeaders(message.properties.headers));
  return publishDelayed(target, task, message.content, properties, remainingMs);
}

/** Celery's `Task.retry`: the same id and arguments with `retries + 1` and a new eta, through a rung. */
export function publishRetry(target: DelayTarget, msg: TaskMessage, delayMs: number, now = Date.now()) {
  const next = retryMessage(
    { ...msg, extraHeaders: resendHeaders(msg.extraHeaders) },
    { eta: new Date(now + delayMs) },
  );
  const { content, properties } = encodeTaskMessage(next, { maxBytes: target.config.limits.maxMessageBytes });
  // Expiry is checked by the worker from the `expires` header; a per-message TTL would drop it in a rung.
  const { expiration: _ignored, ...rest } = properties;
  return publishDelayed(target, msg.task, content, { ...rest, headers: { ...rest.headers } }, delayMs);
}
