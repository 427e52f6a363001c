/** What a publish through the confirm publisher is (broker/confirmPublisher.ts), and the errors it ends with. */
import { ToolboxError } from "@worker-toolbox/config";
import type { Options } from "amqplib";
import type { Logger } from "pino";

export interface PublishRequest {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
}

/** How a publish ended: undefined when the broker confirmed it, else why not. Called exactly once. */
export type PublishDone = (error: ToolboxError | undefined) => void;

/**
 * One publish from `submit()` until it settles. `unwritten` holds the request until amqplib took it; then
 * it is dropped, so a publish waiting for its confirm holds no copy of the message (unless `resend` keeps
 * one in `copy`).
 */
export interface Pending {
  id: string;
  exchange: string;
  routingKey: string;
  unwritten: PublishRequest | undefined;
  /** With `resend`: the request, kept until confirmed so it can be published again after a lost connection. */
  copy: PublishRequest | undefined;
  /** Handed to a channel at least once: if it is not confirmed, it may or may not have arrived. */
  written: boolean;
  done: PublishDone;
  /** When it times out (ms since the epoch), and its slot in `deadlines`. */
  deadline: number;
  slot: number;
  deadlineMs: number;
  returned: boolean;
  /** In the backlog, waiting for the socket to drain. */
  queued: boolean;
}

export interface ConfirmPublisherOptions {
  logger: Logger;
  deadlineMs: number;
  name: string;
  /**
   * Bytes of message content the backlog may hold. A publish that would pass it rejects with
   * PUBLISH_BUFFER_FULL, not published; the first queued publish is always accepted. Default: no bound.
   */
  maxQueuedBytes?: number;
  /** Keep unconfirmed publishes across a lost connection and publish them again on the next channel. */
  resend?: boolean;
}

export function publishTimeout(entry: Pending, deadlineMs: number): ToolboxError {
  const { routingKey } = entry;
  return entry.written
    ? new ToolboxError(
        "PUBLISH_TIMEOUT",
        `The broker did not confirm ${routingKey} within ${deadlineMs} ms.`,
        {
          hint: "the broker may be overloaded or blocked (resource alarm); the message may or may not have arrived",
        },
      )
    : new ToolboxError(
        "PUBLISH_TIMEOUT",
        `${routingKey} waited ${deadlineMs} ms for the connection's write buffer to drain; it was not published.`,
        { hint: "the broker reads slower than this process publishes (or is blocked by a resource alarm)" },
      );
}

export function backlogFull(routingKey: string, count: number, bytes: number, limit: number): ToolboxError {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return new ToolboxError(
    "PUBLISH_BUFFER_FULL",
    `${routingKey}: ${count} publishes (${mib(bytes)}) already wait for the connection's write buffer to drain, the limit is ${mib(limit)}; it was not published.`,
    {
      hint: "await sends as you go or use producer.sendMany (it paces itself), or raise producer.maxQueuedBytes (WT_PRODUCER_MAX_QUEUED_BYTES)",
    },
  );
}

/** amqplib fails outstanding confirms with "channel closed" when the channel dies: that is not a nack. */
export function confirmError(routingKey: string, error: Error): ToolboxError {
  return error.message === "message nacked"
    ? new ToolboxError("PUBLISH_NACKED", `The broker refused ${routingKey} (nack).`, { cause: error })
    : new ToolboxError("PUBLISH_CONNECTION_LOST", `${routingKey}: the channel closed before the confirm.`, {
        cause: error,
      });
}

export function unroutable(request: Pick<PublishRequest, "exchange" | "routingKey">): ToolboxError {
  return new ToolboxError(
    "PUBLISH_UNROUTABLE",
    `No queue is bound for ${request.routingKey} on ${request.exchange}.`,
    { hint: "apply the topology (worker-toolbox topology apply) or check the task name's service prefix" },
  );
}
