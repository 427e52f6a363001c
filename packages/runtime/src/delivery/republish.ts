import { formatDelay, pickDelayRung, type ToolboxConfig } from "@worker-toolbox/config";
import type { Options } from "amqplib";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { retryMessage, type TaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";
import { H, republishProperties, resendHeaders } from "../protocol/envelope.js";
import type { ArrivedMessage } from "./admit.js";

/**
 * The two ways settle sends a task message back through the broker. Both park it in a delay rung (the
 * largest not longer than the delay): when the rung's TTL expires the broker dead-letters it back into the
 * topic exchange with the task name as routing key, so the platform queue sees it again; a message still not
 * due is sent round again. Both resolve once the broker confirmed the publish, and both drop the previous
 * hop's headers with the envelope's one strip list (tracking metadata and trace context stay).
 */
export interface DelayTarget {
  config: ToolboxConfig;
  publisher: Pick<ConfirmPublisher, "publish">;
  /** `<prefix>.delay`. */
  exchange: string;
}

/**
 * A message whose eta is in the future goes back to the broker unchanged (never held unacked here).
 * `routingKey`: the one it arrived with, usually the task name; a chord's `celery.chord_unlock` is routed
 * with the binding key of the body's service (`<service>.#`), and must come back to that queue.
 */
export function delayUntilDue(
  target: DelayTarget,
  message: ArrivedMessage,
  routingKey: string,
  delayMs: number,
) {
  const properties = republishProperties(message, resendHeaders(message.properties.headers));
  return publishDelayed(target, routingKey, message.content, properties, delayMs);
}

/** Celery's `Task.retry`: the same id and arguments with `retries + 1` and a new eta, through a rung. */
export function publishRetry(
  target: DelayTarget,
  task: TaskMessage,
  delayMs: number,
  now = Date.now(),
  routingKey = task.task,
) {
  const next = retryMessage(
    { ...task, extraHeaders: resendHeaders(task.extraHeaders) },
    { eta: new Date(now + delayMs) },
  );
  const { content, properties } = encodeTaskMessage(next, { maxBytes: target.config.limits.maxMessageBytes });
  // Expiry is checked by the worker from the `expires` header; a per-message TTL would drop it in a rung.
  const { expiration: _ignored, ...rest } = properties;
  return publishDelayed(target, routingKey, content, { ...rest, headers: { ...rest.headers } }, delayMs);
}

function publishDelayed(
  target: DelayTarget,
  routingKey: string,
  content: Buffer,
  properties: Options.Publish,
  delayMs: number,
): Promise<void> {
  const rung = pickDelayRung(target.config, delayMs);
  properties.headers = { ...properties.headers, [H.delay]: formatDelay(rung) };
  return target.publisher.publish({ exchange: target.exchange, routingKey, content, properties });
}
