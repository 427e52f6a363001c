import { randomUUID } from "node:crypto";
import amqp from "amqplib";
import { pino } from "pino";
import { afterAll, beforeAll } from "vitest";
import { ConfirmPublisher } from "../../packages/runtime/src/broker/confirmPublisher.js";
import { testServers } from "../support/servers.js";

export interface PublisherQueue {
  readonly connection: amqp.ChannelModel;
  readonly publisher: ConfirmPublisher;
  /** A queue of the file's own (the default exchange routes to it by name), deleted after the file. */
  readonly queue: string;
  /** The next `count` messages in the queue, in order. */
  take(count: number): Promise<amqp.ConsumeMessage[]>;
}

/**
 * The world of a producer test that publishes through a ConfirmPublisher to a queue of its own on the test
 * broker: registers the beforeAll that connects, declares the queue and attaches the publisher (after
 * `prepare(connection)`, e.g. to instrument the socket), and the afterAll that undoes it.
 */
export function publisherQueue(
  name: string,
  options: { noDelay?: boolean; prepare?(connection: amqp.ChannelModel): void } = {},
): PublisherQueue {
  const queue = `wt-${name}-${randomUUID()}`;
  let connection: amqp.ChannelModel | undefined;
  let publisher: ConfirmPublisher | undefined;

  beforeAll(async () => {
    connection = await amqp.connect(testServers().amqpUrl, { noDelay: options.noDelay });
    options.prepare?.(connection);
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: false, autoDelete: false });
    await channel.close();
    publisher = new ConfirmPublisher({ logger: pino({ level: "silent" }), deadlineMs: 10_000, name });
    await publisher.attach(connection);
  });

  afterAll(async () => {
    await publisher?.close(1_000);
    if (!connection) return;
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await connection.close();
  });

  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error(`publisherQueue("${name}") is not set up yet`);
    return value;
  };
  const take = async (count: number): Promise<amqp.ConsumeMessage[]> => {
    const channel = await need(connection).createChannel();
    const got: amqp.ConsumeMessage[] = [];
    await new Promise<void>((resolve) => {
      void channel.consume(
        queue,
        (message) => {
          if (message) got.push(message);
          if (got.length === count) resolve();
        },
        { noAck: true },
      );
    });
    await channel.close();
    return got;
  };
  return {
    take,
    get connection() {
      return need(connection);
    },
    get publisher() {
      return need(publisher);
    },
    queue,
  };
}
