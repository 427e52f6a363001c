import type { Channel, Message } from "amqplib";
import { describe, expect, it } from "vitest";
import { AckTracker } from "./acks.js";

/**
 * A channel that keeps the broker's side of the bargain: the delivery tags outstanding (delivered, neither
 * acked nor nacked). `ack(tag, allUpTo)` settles every outstanding tag up to `tag`, as RabbitMQ does; the
 * test fails if one of them is a message nobody asked to ack.
 */
function brokerChannel() {
  const outstanding = new Set<number>();
  const mayAck = new Set<number>();
  const frames = { single: 0, cumulative: 0, nack: 0 };
  const wronglyAcked: number[] = [];
  const settle = (tag: number) => {
    if (!mayAck.has(tag)) wronglyAcked.push(tag);
    outstanding.delete(tag);
  };
  const channel = {
    once: () => channel,
    ack(message: Message, allUpTo?: boolean) {
      const tag = message.fields.deliveryTag;
      if (!allUpTo) {
        frames.single += 1;
        settle(tag);
        return;
      }
      frames.cumulative += 1;
      for (const t of [...outstanding]) if (t <= tag) settle(t);
    },
    nack(message: Message) {
      frames.nack += 1;
      outstanding.delete(message.fields.deliveryTag);
    },
  };
  return { channel: channel as unknown as Channel, outstanding, mayAck, frames, wronglyAcked };
}

const delivered = (tag: number) => ({ fields: { deliveryTag: tag }, content: Buffer.alloc(10) }) as Message;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("the ack tracker", () => {
  it("acks a run of settled deliveries with one cumulative ack", async () => {
    const broker = brokerChannel();
    const acks = new AckTracker(broker.channel);
    const messages = [1, 2, 3, 4, 5].map(delivered);
    for (const m of messages) {
      broker.outstanding.add(m.fields.deliveryTag);
      acks.track(m);
    }
    for (const m of messages) {
      broker.mayAck.add(m.fields.deliveryTag);
      acks.ack(m);
    }
    await Promise.resolve();
    // Sent before the event loop turns, and as one frame for the acks of the synchronous run.
    expect(broker.frames).toEqual({ single: 0, cumulative: 1, nack: 0 });
    expect(broker.outstanding.size).toBe(0);
  });

  it("never acks an unsettled earlier delivery, whatever the order deliveries settle in", async () => {
    // Deliveries settle in a random order over several turns, some given back; more arrive meanwhile.
    let seed = 20;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let run = 0; run < 50; run++) {
      const broker = brokerChannel();
      const acks = new AckTracker(broker.channel);
      const unsettled: Message[] = [];
      let tag = 0;
      for (let turn = 0; turn < 20; turn++) {
        for (let n = Math.floor(random() * 10); n > 0; n--) {
          const m = delivered(++tag);
          broker.outstanding.add(tag);
          acks.track(m);
          unsettled.push(m);
        }
        for (let n = Math.floor(random() * 8); n > 0 && unsettled.length > 0; n--) {
          const [m] = unsettled.splice(Math.floor(random() * unsettled.length), 1);
          if (random() < 0.1) acks.requeue(m!);
          else {
            broker.mayAck.add(m!.fields.deliveryTag);
            acks.ack(m!);
          }
        }
        await nextTurn();
        expect(broker.wronglyAcked).toEqual([]);
        // Whatever is still outstanding at the broker is exactly what the worker has not settled.
        expect([...broker.outstanding].sort((a, b) => a - b)).toEqual(
          unsettled.map((m) => m.fields.deliveryTag).sort((a, b) => a - b),
        );
      }
      expect(acks.unsettled).toBe(unsettled.length);
    }
  });
});
