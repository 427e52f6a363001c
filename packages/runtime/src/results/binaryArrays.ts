/**
 * Array parameters in PostgreSQL's binary array format (the server's `array_recv`), for the `unnest`
 * upserts of the result and tracking writers.
 *
 * node-postgres sends a Buffer parameter in binary format, as it is, and anything else as text: a JS array
 * goes through `arrayString`, which turns every bytea element into hex text (`\\x` + two characters a byte)
 * and escapes every quote and backslash of a text element. With 100 KB arguments that was a fifth of the
 * worker's CPU, and the server parsed the text back. Here an array is one Buffer: a 20-byte header, then
 * each element as its length and its bytes, copied once. The statement, the casts and the stored bytes do
 * not change; only how the parameter travels does (bench/resultParams.ts measures the three ways).
 *
 * Layout (PostgreSQL's src/backend/utils/adt/arrayfuncs.c, array_recv): int32 ndim, int32 has-nulls flag,
 * int32 element type oid, then per dimension int32 length and int32 lower bound (1), then per element an
 * int32 byte length (-1 for NULL) and the element's binary form. bytea's binary form is its bytes, text's
 * is its UTF-8 bytes (converted from client_encoding, UTF8 for node-postgres, as text input is). The server
 * checks the element oid against the parameter's cast. Small columns (ids, numbers, timestamps) stay JS
 * arrays: their text costs little.
 */

const OID = { bytea: 17, text: 25 } as const;
const HEADER = 20;

function header(out: Buffer, oid: number, count: number, hasNulls: boolean): number {
  out.writeInt32BE(1, 0);
  out.writeInt32BE(hasNulls ? 1 : 0, 4);
  out.writeInt32BE(oid, 8);
  out.writeInt32BE(count, 12);
  out.writeInt32BE(1, 16);
  return HEADER;
}

/** An empty one-dimensional array is written with no dimensions, as the server writes it. */
function empty(oid: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeInt32BE(oid, 8);
  return out;
}

/** A `bytea[]` parameter. */
export function byteaArray(items: readonly (Buffer | null)[]): Buffer {
  if (items.length === 0) return empty(OID.bytea);
  let size = HEADER;
  let hasNulls = false;
  for (const item of items) {
    size += 4 + (item ? item.length : 0);
    if (!item) hasNulls = true;
  }
  const out = Buffer.allocUnsafe(size);
  let at = header(out, OID.bytea, items.length, hasNulls);
  for (const item of items) {
    if (!item) {
      at = out.writeInt32BE(-1, at);
      continue;
    }
    at = out.writeInt32BE(item.length, at);
    at += item.copy(out, at);
  }
  return out;
}

/**
 * A `text[]` parameter (cast it in SQL to jsonb, timestamptz… as before: the server converts the text). An
 * element may be UTF-8 bytes already (a Buffer): copied as it is.
 */
export function textArray(items: readonly (string | Buffer | null)[]): Buffer {
  if (items.length === 0) return empty(OID.text);
  let size = HEADER;
  let hasNulls = false;
  const lengths = new Array<number>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    lengths[i] = item == null ? -1 : typeof item === "string" ? Buffer.byteLength(item, "utf8") : item.length;
    size += 4 + Math.max(0, lengths[i]!);
    if (item == null) hasNulls = true;
  }
  const out = Buffer.allocUnsafe(size);
  let at = header(out, OID.text, items.length, hasNulls);
  for (let i = 0; i < items.length; i++) {
    at = out.writeInt32BE(lengths[i]!, at);
    const item = items[i]!;
    if (lengths[i]! > 0) at += typeof item === "string" ? out.write(item, at, "utf8") : item.copy(out, at);
  }
  return out;
}
