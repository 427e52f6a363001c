import { randomUUID } from "node:crypto";
import { parseConfig } from "@worker-toolbox/config";
import amqp from "amqplib";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerConnection } from "../../packages/runtime/src/broker/connection.js";
import { decodedHeaders } from "../../packages/runtime/src/broker/frameDecoding.js";
import { testServers } from "../support/servers.js";

/**
 * A toolbox connection decodes content headers itself (broker/contentHeader.ts through frameDecoding.ts): against
 * RabbitMQ, a message with every kind of header value arrives with the properties a plain amqplib connection
 * decodes for the same message, and the toolbox's decoder is the one that ran.
 */
const queues = [`wt-headers-a-${randomUUID()}`, `wt-headers-b-${randomUUID()}`];
let plain: amqp.ChannelModel;
let toolbox: BrokerConnection;

beforeAll(async () => {
  plain = await amqp.connect(testServers().amqpUrl);
  const channel = await plain.createChannel();
  for (const queue of queues) await channel.assertQueue(queue, { durable: false });
  await channel.close();
  const config = parseConfig({ environment: { prefix: "t" }, broker: { url: testServers().amqpUrl } });
  toolbox = new BrokerConnection({ config, logger: pino({ level: "silent" }), name: "content-headers" });
});

afterAll(async () => {
  await toolbox?.close();
  if (!plain) return;
  const channel = await plain.createChannel();
  for (const queue of queues) await channel.deleteQueue(queue);
  await plain.close();
});

async function takeOne(model: amqp.ChannelModel, queue: string): Promise<amqp.ConsumeMessage> {
  const channel = await model.createChannel();
  const message = await new Promise<amqp.ConsumeMessage>((resolve) => {
    void channel.consume(queue, (m) => m && resolve(m), { noAck: true });
  });
  await channel.close();
  return message;
}

describe("content headers decoded by the toolbox", () => {
  it("arrive as amqplib decodes them, every kind of header value, through the toolbox's decoder", async () => {
    const id = randomUUID();
    const options: amqp.Options.Publish = {
      contentType: "application/json",
      contentEncoding: "utf-8",
      correlationId: id,
      messageId: id,
      deliveryMode: 2,
      priority: 4,
      expiration: "60000",
      timestamp: 1_796_500_000,
      type: "task",
      appId: "app",
      replyTo: "reply",
      headers: {
        task: "svc.task",
        id,
        shadow: null,
        retries: 3,
        timelimit: [30, null],
        argsrepr: "(1, 'ünïcödé ✓')",
        stamps: {},
        long: 2 ** 40,
        negative: -5,
        double: 1.5,
        yes: true,
        bytes: Buffer.from([0, 1, 2]),
        decimal: { "!": "decimal", value: { places: 2, digits: 314 } },
        when: { "!": "timestamp", value: 1_796_500_000 },
        nested: { list: [1, "two", { three: [null, false] }] },
      },
    };
    const channel = await plain.createChannel();
    for (const queue of queues) channel.sendToQueue(queue, Buffer.from("[[], {}, {}]"), options);
    await channel.close();
    const model = await toolbox.ready();
    const before = decodedHeaders.count;
    const ours = await takeOne(model, queues[0]!);
    expect(decodedHeaders.count).toBe(before + 1);
    const theirs = await takeOne(plain, queues[1]!);
    expect(ours.properties).toStrictEqual(theirs.properties);
    expect(ours.properties.headers).toMatchObject({
      task: "svc.task",
      long: 2 ** 40,
      when: { "!": "timestamp" },
    });
    expect(ours.content.toString()).toBe("[[], {}, {}]");
  });
});
