import type amqp from "amqplib";
import { describe, expect, it } from "vitest";
import { batchSocketWrites } from "../../packages/runtime/src/broker/batchedWrites.js";
import { publisherQueue } from "./publisherQueue.js";

/**
 * broker/batchedWrites.ts corks the connection's socket while amqplib's muxer copies a turn's frames to it, so
 * a burst of publishes leaves in a few `writev` calls instead of one write per frame chunk. Against RabbitMQ:
 * every message of the burst arrives whole and in order, and the socket saw far fewer writes than chunks.
 */
/** Calls into the socket's write paths: one `write(2)`/`writev(2)` each. */
const socketWrites = { count: 0 };
const world = publisherQueue("batched", {
  noDelay: true,
  prepare(connection) {
    expect(batchSocketWrites(connection)).toBe(true);
    const socket = (connection as unknown as { connection: { stream: Record<string, unknown> } }).connection
      .stream as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
    const [write, writev] = [socket._write, socket._writev];
    socket._write = function (this: unknown, ...a: unknown[]) {
      socketWrites.count++;
      return write.apply(this, a);
    };
    socket._writev = function (this: unknown, ...a: unknown[]) {
      socketWrites.count++;
      return writev.apply(this, a);
    };
  },
});
const { queue } = world;

describe("batched socket writes", () => {
  it("a burst of 200 publishes of 2 chunks each arrives whole and in order, in far fewer socket writes", async () => {
    const body = Buffer.alloc(3_000, "x"); // over amqplib's 2 KiB threshold: method + header, then body
    const before = socketWrites.count;
    const sent = Array.from({ length: 200 }, (_, n) =>
      world.publisher.publish({
        exchange: "",
        routingKey: queue,
        content: Buffer.concat([Buffer.from(`${n}:`), body]),
        properties: { contentType: "text/plain", headers: { n, argsrepr: "y".repeat(1_000) } },
      }),
    );
    await Promise.all(sent);
    const writes = socketWrites.count - before;
    const got = await world.take(200);
    expect(got.map((m) => m.properties.headers?.n)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    for (const [n, m] of got.entries()) {
      expect(m.content.length).toBe(3_000 + `${n}:`.length);
      expect(m.content.toString("latin1", 0, `${n}:`.length)).toBe(`${n}:`);
      expect(m.properties.headers?.argsrepr).toHaveLength(1_000);
    }
    // 400 chunks; unbatched, every one is its own write (at least 400). Corked: one per ~16 KiB turn.
    expect(writes).toBeLessThan(100);
  });

  it("leaves a connection alone when amqplib's internals are not there", () => {
    expect(batchSocketWrites({} as amqp.ChannelModel)).toBe(false);
    expect(batchSocketWrites({ connection: { muxer: {} } } as unknown as amqp.ChannelModel)).toBe(false);
  });
});
