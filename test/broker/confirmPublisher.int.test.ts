import { randomUUID } from "node:crypto";
import { parseConfig } from "@worker-toolbox/config";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfirmPublisher } from "../../packages/runtime/src/broker/confirmPublisher.js";
import { BrokerConnection } from "../../packages/runtime/src/broker/connection.js";

const logger = pino({ level: "silent" });
const exchange = `cp-${randomUUID()}`;
const queue = `${exchange}.q`;
/** Holds one message and refuses (nacks) the next: a broker nack on demand. */
const full = `${exchange}.full`;
const publisher = new ConfirmPublisher({ logger, deadlineMs: 5_000, name: "test" });
const connection = new BrokerConnection({
  config: parseConfig({ environment: { prefix: "t" }, broker: { url: process.env.AMQP_URL! } }),
  logger,
  name: "confirm-publisher-test",
  setup: async (conn) => {
    const channel = await conn.createChannel();
    await channel.assertExchange(exchange, "topic", { durable: false, autoDelete: false });
    await channel.assertQueue(queue, { durable: false });
    await channel.bindQueue(queue, exchange, "routed.#");
    await channel.assertQueue(full, {
      durable: false,
      arguments: { "x-max-length": 1, "x-overflow": "reject-publish" },
    });
    await channel.bindQueue(full, exchange, "full.#");
    await channel.close();
    await publisher.attach(conn);
  },
});

beforeAll(async () => {
  await connection.ready();
});

afterAll(async () => {
  const conn = await connection.ready();
  const channel = await conn.createChannel();
  await channel.deleteQueue(queue);
  await channel.deleteQueue(full);
  await channel.deleteExchange(exchange);
  await channel.close();
  await publisher.close();
  await connection.close();
});

const message = (routingKey: string, exchangeName = exchange) => ({
  exchange: exchangeName,
  routingKey,
  content: Buffer.from("{}"),
  properties: { persistent: true },
});

describe("ConfirmPublisher", () => {
  it("resolves when the broker confirms, and the message is in the queue", async () => {
    await Promise.all(Array.from({ length: 100 }, () => publisher.publish(message("routed.a"))));
    const conn = await connection.ready();
    const channel = await conn.createChannel();
    expect((await channel.checkQueue(queue)).messageCount).toBe(100);
    await channel.purgeQueue(queue);
    await channel.close();
  });

  it("rejects an unroutable message with PUBLISH_UNROUTABLE", async () => {
    await expect(publisher.publish(message("nobody.listens"))).rejects.toMatchObject({
      code: "PUBLISH_UNROUTABLE",
    });
    // Routed publishes in the same batch are unaffected.
    await expect(publisher.publish(message("routed.b"))).resolves.toBeUndefined();
  });

  it("rejects publishes in flight when the channel dies, then reopens the channel", async () => {
    const inFlight = publisher.publish(message("routed.a"));
    const missing = publisher.publish(message("routed.a", `${exchange}-missing`));
    await expect(missing).rejects.toMatchObject({ code: "PUBLISH_CONNECTION_LOST" });
    // The first one was either confirmed before the channel died or rejected: never left hanging.
    await inFlight.catch((error: unknown) =>
      expect(error).toMatchObject({ code: "PUBLISH_CONNECTION_LOST" }),
    );
    await expect.poll(() => publisher.ready).toBe(true);
    await expect(publisher.publish(message("routed.c"))).resolves.toBeUndefined();
  });

  it("under backpressure, queued publishes are written in order once the socket drains, and all confirmed", async () => {
    const conn = await connection.ready();
    const channel = await conn.createChannel();
    await channel.purgeQueue(queue);
    const padding = Buffer.alloc(16 * 1024, "x");
    const count = 1_500; // ~24 MB: far beyond the channel's write buffer, so most publishes queue
    const sends = Array.from({ length: count }, (_, i) =>
      publisher.publish({
        ...message("routed.order"),
        content: Buffer.concat([Buffer.from(`${i}:`), padding]),
      }),
    );
    expect(publisher.queued).toBeGreaterThan(0);
    await Promise.all(sends);
    expect(publisher.queued).toBe(0);
    expect(publisher.outstanding).toBe(0);

    const order: number[] = [];
    for (
      let got = await channel.get(queue, { noAck: true });
      got;
      got = await channel.get(queue, { noAck: true })
    )
      order.push(Number(got.content.subarray(0, 8).toString().split(":")[0]));
    await channel.close();
    expect(order).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it("a nack rejects with PUBLISH_NACKED and replaces the channel; with resend it is retried until accepted", async () => {
    const conn = await connection.ready();
    const admin = await conn.createChannel();
    await admin.purgeQueue(full);
    await publisher.publish(message("full.first"));
    await expect(publisher.publish(message("full.second"))).rejects.toMatchObject({ code: "PUBLISH_NACKED" });
    // The nacking channel is closed and a new one opened (RabbitMQ 3.10 leaves some channels nacking for good).
    await expect.poll(() => publisher.ready).toBe(true);
    await expect(publisher.publish(message("routed.after-nack"))).resolves.toBeUndefined();

    const resending = new ConfirmPublisher({ logger, deadlineMs: 10_000, name: "test-resend", resend: true });
    await resending.attach(conn);
    try {
      let settled = false;
      const retried = resending.publish(message("full.third")).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(settled).toBe(false); // nacked, and waiting for a channel where the queue has room
      await admin.purgeQueue(full);
      await expect(retried).resolves.toBeUndefined();
      expect((await admin.checkQueue(full)).messageCount).toBe(1);
    } finally {
      await resending.close();
      await admin.close();
    }
  });
});
