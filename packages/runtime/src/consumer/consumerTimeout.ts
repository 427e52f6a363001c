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

/** What held a delivery that long, and the fix, for each kind of consumer. */
const ADVICE = {
  worker: (limit: string) => ({
    msg:
      "RabbitMQ closed the consumer channel: a task ran longer than the broker's consumer_timeout without its message being acknowledged. " +
      "The channel's messages return to the queue and the worker consumes again; copies of tasks still running here are settled by those runs, not run twice",
    hint:
      `keep the task's hard time limit (its contract's timeLimitMs.hard, or the message's timelimit) below the broker's consumer_timeout${limit}, ` +
      "or raise consumer_timeout on the broker (rabbitmq.conf) above the longest run",
  }),
  tracker: (limit: string) => ({
    msg:
      "RabbitMQ closed the tracker's channel: a copy waited longer than the broker's consumer_timeout for its tracking row to be stored. " +
      "The channel's messages return to the queue and the tracker reconnects",
    hint: `the database stalled for longer than the broker's consumer_timeout${limit} (an outage, a lock, a slow disk): look at its errors and locks; raise consumer_timeout on the broker if stalls that long are expected`,
  }),
};

/** The one error line of a consumer timeout: the cause, the task held past it, and the fix. */
export function logConsumerTimeout(
  logger: Logger,
  report: ConsumerTimeoutReport,
  consumer: keyof typeof ADVICE = "worker",
): void {
  const { queue, timeoutMs, oldest, unsettled } = report;
  const headers = oldest?.properties.headers;
  const known = !Number.isNaN(timeoutMs);
  const { msg, hint } = ADVICE[consumer](known ? ` (${timeoutMs} ms)` : "");
  logger.error(
    {
      code: ERROR_CODES.BROKER_CONSUMER_TIMEOUT,
      queue,
      timeoutMs: known ? timeoutMs : undefined,
      task: headers?.task,
      taskId: headers?.id,
      unsettled,
      hint,
    },
    msg,
  );
}
