import { randomUUID } from "node:crypto";
import { entityNames } from "@worker-toolbox/config";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import amqp, { type ChannelModel, type ConfirmChannel } from "amqplib";
import { runCliCaptured } from "../support/cli.js";
import { testServers } from "../support/servers.js";

/** Run one command line in-process with `env` as its whole environment. */
export const cli = runCliCaptured;

/** pino lines a command printed, parsed. */
export function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export async function openChannel(
  amqpUrl: string,
): Promise<{ connection: ChannelModel; channel: ConfirmChannel }> {
  const connection = await amqp.connect(amqpUrl);
  connection.on("error", () => {});
  const channel = await connection.createConfirmChannel();
  channel.on("error", () => {});
  return { connection, channel };
}

/**
 * Publish `count` dead letters of `task` the way the worker does: a Celery task message sent to
 * `<prefix>.dead` with routing key = service and the `x-wt-*` reason headers. Returns their task ids.
 */
export async function publishDeadLetters(
  channel: ConfirmChannel,
  prefix: string,
  service: string,
  task: string,
  count: number,
  reason = "retries-exhausted",
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const msg = { ...newTaskMessage({ task, args: [i], id: randomUUID() }), retries: 4 };
    const { content, properties } = encodeTaskMessage(msg);
    channel.publish(entityNames(prefix).deadLetterExchange, service, content, {
      ...properties,
      headers: {
        ...properties.headers,
        "x-wt-reason": reason,
        "x-wt-error-class": "TimeoutError",
        "x-wt-error-message": "downstream timed out",
        "x-wt-attempts": 5,
        "x-wt-original-exchange": entityNames(prefix).exchange,
        "x-wt-original-routing-key": task,
        "x-wt-dead-lettered-at": new Date(Date.now() - 120_000).toISOString(),
        "x-wt-dead-lettered-by": "test",
        // What the producer attached (createProducer's `tracking`): a replay must keep it.
        "x-wt-tracking": { requestedBy: "user:7", ticket: `T-${i}` },
      },
    });
    ids.push(msg.id);
  }
  await channel.waitForConfirms();
  return ids;
}

/** Take (and acknowledge) every message in `queue`; returns their task ids and headers. */
export async function drain(
  channel: ConfirmChannel,
  queue: string,
): Promise<{ id: string; headers: Record<string, unknown> }[]> {
  const out: { id: string; headers: Record<string, unknown> }[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (!message) return out;
    const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
    out.push({ id: String(headers.id ?? message.properties.correlationId), headers });
  }
}

export async function readyCount(channel: ConfirmChannel, queue: string): Promise<number> {
  return (await channel.checkQueue(queue)).messageCount;
}

/** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The environment a CLI command needs to reach a worker harness's broker, database and prefix. */
export function harnessEnv(h: {
  databaseUrl: string;
  prefix: string;
  config: { queue: { delayRungsMs: readonly number[] } };
}): Record<string, string | undefined> {
  const { amqpUrl, managementUrl } = testServers();
  return {
    AMQP_URL: amqpUrl,
    RABBITMQ_MANAGEMENT_URL: managementUrl,
    DATABASE_URL: h.databaseUrl,
    WT_ENVIRONMENT_PREFIX: h.prefix,
    WT_QUEUE_DELAY_RUNGS_MS: h.config.queue.delayRungsMs.join(","),
  };
}
