/** Sends a header table through amqplib's own field-table codec, as the broker round trip does. */
import { createRequire } from "node:module";

const codec = createRequire(import.meta.url)("amqplib/lib/codec.js") as {
  encodeTable(buffer: Buffer, value: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
};

export function throughAmqp(headers: Record<string, unknown>): Record<string, unknown> {
  const buffer = Buffer.allocUnsafe(1 << 20);
  const size = codec.encodeTable(buffer, headers, 0);
  return codec.decodeFields(buffer.subarray(4, size));
}
