import { randomUUID } from "node:crypto";
import { entityNames } from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import { encodeControlRequest, pidboxNames } from "./pidbox.js";

export interface BroadcastOptions {
  /** Node names to ask (`<service>-<pid>@<host>`, `celery@host`); every worker when omitted. */
  destination?: string[];
  /** How long to collect replies (Celery's default is 1 s). */
  timeoutMs?: number;
  /** Stop after this many replies (default: as many as `destination` names, else none). */
  limit?: number;
}

/**
 * Send a remote-control command to the workers of an environment and collect their replies, as Celery's
 * `app.control.broadcast(..., reply=True)` does (kombu's Mailbox): a private reply queue bound to
 * `reply.<prefix>.celery.pidbox` under a fresh id, the request on `<prefix>.celery.pidbox` with a
 * `ticket`, and every reply carrying that ticket kept until `timeoutMs` (or `limit` replies). Python
 * and TypeScript workers answer alike. Returns the replies by node name.
 */
export async function broadcastCommand(
  connection: ChannelModel,
  prefix: string,
  method: string,
  args: Record<string, unknown> = {},
  options: BroadcastOptions = {},
): Promise<Record<string, unknown>> {
  const names = entityNames(prefix);
  const pidbox = pidboxNames(names.celeryControl);
  const timeoutMs = options.timeoutMs ?? 1_000;
  const limit = options.limit ?? (options.destination?.length || undefined);
  const ticket = randomUUID();
  const oid = randomUUID();
  const channel = await connection.createChannel();
  channel.on("error", () => undefined);
  const replies: Record<string, unknown> = {};
  try {
    await channel.assertExchange(pidbox.exchange, "fanout", { durable: false });
    await channel.assertExchange(pidbox.replyExchange, "direct", { durable: false });
    const { queue } = await channel.assertQueue(`${oid}.${pidbox.replyExchange}`, {
      durable: false,
      exclusive: true,
      autoDelete: true,
      arguments: pidbox.queueArguments,
    });
    await channel.bindQueue(queue, pidbox.replyExchange, oid);
    let done: () => void = () => undefined;
    const enough = new Promise<void>((resolve) => {
      done = resolve;
    });
    await channel.consume(
      queue,
      (message) => {
        if (!message || String(message.properties.headers?.ticket) !== ticket) return;
        try {
          Object.assign(replies, JSON.parse(message.content.toString("utf8")));
        } catch {
          return; // Not a reply this command can read.
        }
        if (limit !== undefined && Object.keys(replies).length >= limit) done();
      },
      { noAck: true },
    );
    const request = encodeControlRequest(method, args, {
      destination: options.destination,
      reply: { ticket, exchange: pidbox.replyExchange, routingKey: oid },
      clock: 0,
      timeoutS: timeoutMs / 1_000,
    });
    channel.publish(pidbox.exchange, "", request.content, {
      contentType: "application/json",
      contentEncoding: "utf-8",
      deliveryMode: 1,
      headers: request.headers,
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([enough, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return replies;
  } finally {
    await channel.close().catch(() => undefined);
  }
}
