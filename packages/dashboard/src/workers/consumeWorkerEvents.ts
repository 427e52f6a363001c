import { entityNames } from "@worker-toolbox/config";
import {
  decodeEventBody,
  decodeWorkerEvent,
  EVENT_EXCHANGE_OPTIONS,
  EVENT_EXCHANGE_TYPE,
  WORKER_EVENTS_KEY,
} from "@worker-toolbox/runtime/protocol";
import type { ChannelModel } from "amqplib";
import type { Logger } from "pino";
import type { WorkerRegistry } from "./workerRegistry.js";

/**
 * Bind a private queue (exclusive, auto-delete, short message TTL, as Celery's event receiver does) to the
 * event exchange for every worker event and feed them into the registry. Runs after every (re)connect.
 */
export async function consumeWorkerEvents(
  connection: ChannelModel,
  prefix: string,
  registry: WorkerRegistry,
  logger: Logger,
): Promise<void> {
  const channel = await connection.createChannel();
  channel.on("error", (error: Error) => logger.warn({ err: error.message }, "worker events channel failed"));
  const exchange = entityNames(prefix).eventExchange;
  // Whoever comes first declares it, with the arguments Celery declares it with.
  await channel.assertExchange(exchange, EVENT_EXCHANGE_TYPE, EVENT_EXCHANGE_OPTIONS);
  const { queue } = await channel.assertQueue("", {
    exclusive: true,
    autoDelete: true,
    durable: false,
    arguments: { "x-message-ttl": 5_000 },
  });
  await channel.bindQueue(queue, exchange, WORKER_EVENTS_KEY);
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      for (const body of decodeEventBody(message.content)) {
        const event = decodeWorkerEvent(body);
        if (event) registry.apply(event);
      }
    },
    { noAck: true },
  );
}
