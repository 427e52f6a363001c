import { ERROR_CODES } from "@worker-toolbox/config";
import type { Message } from "amqplib";
import type { Logger } from "pino";

/**
 * RabbitMQ (≥ 3.8.15) closes the channel of a consumer that holds a delivery unacknowledged longer than its
 * `consumer_timeout` (30 minutes by default), checked on the channel's tick (`channel_tick_interval`, 60 s
 * by default): channel.close 406 PRECONDITION_FAILED "delivery acknowledgement on channel N timed out.
 * Timeout value used: T ms." (rabbit_channel.erl, evaluate_consumer_timeout). Every unacked message of that
 * channel returns to the queue; the connection stays up.
 *
 * The timeout in ms when `error` is that close (NaN when the broker did not say it), else undefined.
 */
export function consumerTimeoutOf(error: unknown): number | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 406 || typeof message !== "string") return undefined;
  if (!/delivery acknowledge?ment on channel \d+ timed out/i.test(message)) return undefined;
  const used = /Timeout value used: (\d+) ms/i.exec(message);
  return used ? Number(used[1]) : Number.NaN;
}

/** What the channel held when the broker closed it. */
export interface ConsumerTimeoutReport {
  queue: string;
  timeoutMs: number;
  /** The oldest delivery not yet acked: the one the broker timed out. */
  oldest: Message | undefined;
  /** Deliveries of the channel not yet settled (they return to the queue). */
  unsettled: number;
}

/** The one error line of a consumer timeout: the cause, the task that ran past it, and both fixes. */
export function logConsumerTimeout(logger: Logger, report: ConsumerTimeoutReport): void {
  const { queue, timeoutMs, oldest, unsettled } = report;
  const headers = oldest?.properties.headers;
  const limit = Number.isNaN(timeoutMs) ? "" : ` (${timeoutMs} ms)`;
  logger.error(
    {
      code: ERROR_CODES.BROKER_CONSUMER_TIMEOUT,
      queue,
      timeoutMs: Number.isNaN(timeoutMs) ? undefined : timeoutMs,
      task: headers?.task,
      taskId: headers?.id,
      unsettled,
      hint:
        `keep the task's hard time limit (its contract's timeLimitMs.hard, or the message's timelimit) below the broker's consumer_timeout${limit}, ` +
        "or raise consumer_timeout on the broker (rabbitmq.conf) above the longest run",
    },
    "RabbitMQ closed the consumer channel: a task ran longer than the broker's consumer_timeout without its message being acknowledged. " +
      "The channel's messages return to the queue and the worker consumes again; copies of tasks still running here are settled by those runs, not run twice",
  );
}
