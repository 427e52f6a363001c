/** Stand-ins for the broker side of a delivery, for the delivery unit tests (not exported from the package). */
import { EventEmitter } from "node:events";
import type { Channel, ConsumeMessage } from "amqplib";
import { vi } from "vitest";

/** A stand-in channel: records acks and nacks, closes on demand. */
export function fakeChannel() {
  const channel = Object.assign(new EventEmitter(), { ack: vi.fn(), nack: vi.fn() });
  return { channel, asChannel: channel as unknown as Channel, close: () => channel.emit("close") };
}

export const message = (tag: number, headers: Record<string, unknown> = {}) =>
  ({
    content: Buffer.from("[]"),
    fields: { deliveryTag: tag },
    properties: { headers },
  }) as unknown as ConsumeMessage;
