import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { framedPublish, framedPublishes } from "../../packages/runtime/src/broker/framedPublish.js";
import { publisherQueue } from "./publisherQueue.js";

/**
 * The confirm publisher writes its own frames (broker/publishFrames.ts) through amqplib's channel internals
 * (broker/framedPublish.ts). Against RabbitMQ: what arrives is what was published (properties, every kind of
 * header value, a body split over several frames), the framed path is the one taken, and a message with a
 * value only amqplib encodes (a typed decimal, as a republished message may carry) goes through amqplib.
 */
const world = publisherQueue("framed");
const { queue, take } = world;

describe("framed publish", () => {
  it("arrives as published: properties, every kind of header value, a body over several frames", async () => {
    const id = randomUUID();
    const headers = {
      task: "svc.task",
      id,
      shadow: null,
      retries: 3,
      timelimit: [30, null],
      argsrepr: "(1, 'ünïcödé ✓')",
      stamps: {},
      short: 300,
      int: 70_000,
      long: 2 ** 40,
      negative: -5,
      double: 1.5,
      yes: true,
      nested: { list: [1, "two", { three: [null, false] }] },
    };
    const content = Buffer.alloc(300_000, "0123456789"); // RabbitMQ's frame_max is 128 KiB: three body frames
    const properties = {
      contentType: "application/json",
      contentEncoding: "utf-8",
      correlationId: id,
      deliveryMode: 2,
      priority: 4,
      expiration: "60000",
      headers,
    };
    const before = framedPublishes.count;
    await world.publisher.publish({ exchange: "", routingKey: queue, content, properties });
    expect(framedPublishes.count).toBe(before + 1);
    const [message] = await take(1);
    expect(message!.content.equals(content)).toBe(true);
    expect(message!.properties).toMatchObject({
      ...properties,
      messageId: expect.stringMatching(/^framed:\d+$/),
    });
  });

  it("a value only amqplib encodes (a typed decimal) goes through amqplib, and arrives", async () => {
    const before = framedPublishes.count;
    await world.publisher.publish({
      exchange: "",
      routingKey: queue,
      content: Buffer.from("{}"),
      properties: { headers: { price: { "!": "decimal", value: { places: 2, digits: 1234 } } } },
    });
    expect(framedPublishes.count).toBe(before);
    const [message] = await take(1);
    expect(message!.properties.headers).toEqual({
      price: { "!": "decimal", value: { places: 2, digits: 1234 } },
    });
  });

  it("on a closed channel: throws amqplib's IllegalOperationError, as channel.publish does, writing nothing", async () => {
    const channel = await world.connection.createConfirmChannel();
    const confirmed = new Promise<Error | null>((resolve) =>
      framedPublish(channel, "", queue, Buffer.from("open"), {}, "open", resolve),
    );
    expect(await confirmed).toBeNull(); // the framed path on an open channel, confirmed by the broker
    await channel.close();
    const before = framedPublishes.count;
    const publishClosed = () =>
      framedPublish(channel, "", queue, Buffer.from("closed"), {}, "closed", () => {});
    expect(publishClosed).toThrow(expect.objectContaining({ name: "IllegalOperationError" }));
    expect(framedPublishes.count).toBe(before);
    const [message] = await take(1);
    expect(message!.content.toString()).toBe("open");
  });

  it("unroutable (mandatory set on the framed path): rejects PUBLISH_UNROUTABLE", async () => {
    const error = await world.publisher
      .publish({
        exchange: "",
        routingKey: `no-such-queue-${randomUUID()}`,
        content: Buffer.from("x"),
        properties: {},
      })
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe("PUBLISH_UNROUTABLE");
  });
});
