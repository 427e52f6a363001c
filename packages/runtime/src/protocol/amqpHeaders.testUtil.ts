/** Sends a header table through amqplib's own field-table codec, as the broker round trip does. */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

// amqplib 2 has an `exports` map without its internals: the codec is loaded by its file path.
const require = createRequire(import.meta.url);
const codec = require(join(dirname(require.resolve("amqplib")), "lib", "codec.js")) as {
  encodeTable(buffer: Buffer, value: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
};

export function throughAmqp(headers: Record<string, unknown>): Record<string, unknown> {
  const buffer = Buffer.allocUnsafe(1 << 20);
  const size = codec.encodeTable(buffer, headers, 0);
  return codec.decodeFields(buffer.subarray(4, size));
}
