/**
 * The content header of a delivery (AMQP 0-9-1 basic properties and their header table) decoded into what
 * amqplib 2.x's own decoder (lib/defs.js `decodeBasicProperties`, lib/codec.js `decodeFields`) returns, value
 * for value — every field type, and the same leniency and errors on malformed input (test:
 * contentHeader.test.ts compares both on random and on corrupted tables) — only faster.
 *
 * Why not amqplib's: a Celery message carries 20 headers, and amqplib turns each name and each string into a
 * new string with a native call and builds two closures per table; in the end-to-end bench that was ~8 µs of
 * the worker's CPU per task at 1 KB (bench/README.md, "Worker CPU at 1 KB"). Here the names (and short,
 * repeating values: the task name, `py`, `{}`…) come from a small cache of strings already made, compared by
 * their bytes, and nothing is allocated per table but the result. The one deliberate difference: a header
 * named `__proto__` stays an own property (amqplib's assignment would set the table's prototype).
 */

/** Strings already made, by a hash of their bytes: direct-mapped, a miss replaces the slot. */
const SLOTS = 1024;
const cached: (string | undefined)[] = new Array(SLOTS);
/** Longer texts (reprs) are rarely repeated: made fresh. */
const MAX_CACHED = 48;

/**
 * The text of `buf[start, end)` (end within the buffer), from the cache when the same ASCII bytes were seen
 * (an ASCII string's character codes are its bytes, so the cached string itself is what is compared).
 */
function cachedString(buf: Buffer, start: number, end: number): string {
  let hash = end - start;
  let ascii = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    hash = (Math.imul(hash, 31) + c) | 0;
    ascii |= c;
  }
  // Non-ASCII text is left to the UTF-8 decoder (replacement characters and all, as amqplib's).
  if (ascii > 0x7f) return buf.toString("utf8", start, end);
  const slot = (hash ^ (hash >>> 10)) & (SLOTS - 1);
  const held = cached[slot];
  if (held !== undefined && held.length === end - start) {
    let i = 0;
    while (i < held.length && held.charCodeAt(i) === buf[start + i]) i++;
    if (i === held.length) return held;
  }
  const text = buf.toString("latin1", start, end);
  cached[slot] = text;
  return text;
}

/** `buf.toString('utf8', start, start + len)` as amqplib calls it: the end clamped to the buffer. */
function text(buf: Buffer, start: number, len: number): string {
  const end = Math.min(start + len, buf.length);
  if (end <= start) return "";
  return end - start <= MAX_CACHED ? cachedString(buf, start, end) : buf.toString("utf8", start, end);
}

/** A decoder over one table's bytes (a subarray, as amqplib passes it: reads past it throw RangeError). */
class TableReader {
  at = 0;
  constructor(readonly buf: Buffer) {}

  table(): Record<string, unknown> {
    const { buf } = this;
    const fields: Record<string, unknown> = {};
    const size = buf.length;
    while (this.at < size) {
      const len = buf[this.at++]!;
      const key = text(buf, this.at, len);
      this.at += len;
      const value = this.value();
      if (key === "__proto__")
        Object.defineProperty(fields, key, { value, writable: true, enumerable: true, configurable: true });
      else fields[key] = value;
    }
    return fields;
  }

  value(): unknown {
    const { buf } = this;
    const tag = buf[this.at++];
    let value: unknown;
    switch (tag) {
      case 0x53: {
        // S: long string
        const len = buf.readUInt32BE(this.at);
        this.at += 4;
        value = text(buf, this.at, len);
        this.at += len;
        return value;
      }
      case 0x56: // V: void
        return null;
      case 0x74: // t: boolean
        return buf[this.at++] !== 0;
      case 0x49: // I: signed 32
        value = buf.readInt32BE(this.at);
        this.at += 4;
        return value;
      case 0x46: {
        // F: nested table
        const len = buf.readUInt32BE(this.at);
        this.at += 4;
        value = new TableReader(buf.subarray(this.at, this.at + len)).table();
        this.at += len;
        return value;
      }
      case 0x41: {
        // A: array
        const len = buf.readUInt32BE(this.at);
        this.at += 4;
        const until = this.at + len;
        const values: unknown[] = [];
        while (this.at < until) values.push(this.value());
        return values;
      }
      default:
        return this.rareValue(tag);
    }
  }

  /** The field types Celery's headers do not use (py-amqp sends ints that fit as I, others as l). */
  private rareValue(tag: number | undefined): unknown {
    const { buf } = this;
    const at = this.at;
    switch (tag) {
      case 0x62: // b
        this.at += 1;
        return buf.readInt8(at);
      case 0x42: // B
        this.at += 1;
        return buf.readUInt8(at);
      case 0x69: // i: unsigned 32
        this.at += 4;
        return buf.readUInt32BE(at);
      case 0x73: // s: signed 16
        this.at += 2;
        return buf.readInt16BE(at);
      case 0x75: // u: unsigned 16
        this.at += 2;
        return buf.readUInt16BE(at);
      case 0x6c: // l: signed 64 (a Number, as amqplib gives it)
        this.at += 8;
        return Number(buf.readBigInt64BE(at));
      case 0x64: // d: double
        this.at += 8;
        return buf.readDoubleBE(at);
      case 0x66: // f: float
        this.at += 4;
        return buf.readFloatBE(at);
      case 0x44: {
        // D: decimal
        const places = buf[at];
        const digits = buf.readUInt32BE(at + 1);
        this.at += 5;
        return { "!": "decimal", value: { places, digits } };
      }
      case 0x54: // T: timestamp
        this.at += 8;
        return { "!": "timestamp", value: Number(buf.readBigUInt64BE(at)) };
      case 0x78: {
        // x: byte array (a view of the frame, as amqplib's)
        const len = buf.readUInt32BE(at);
        this.at += 4 + len;
        return buf.subarray(at + 4, at + 4 + len);
      }
      default:
        throw new TypeError(`Unexpected type tag "${String.fromCharCode(tag as number)}"`);
    }
  }
}

/** A field table's bytes (without its length prefix) as amqplib's `decodeFields` decodes them. */
export function decodeFieldTable(slice: Buffer): Record<string, unknown> {
  return new TableReader(slice).table();
}

/** What amqplib's `decodeBasicProperties` returns; the property names are amqplib's (`MessageProperties`). */
export interface DecodedProperties {
  contentType: string | undefined;
  contentEncoding: string | undefined;
  headers: Record<string, unknown> | undefined;
  deliveryMode: number | undefined;
  priority: number | undefined;
  correlationId: string | undefined;
  replyTo: string | undefined;
  expiration: string | undefined;
  messageId: string | undefined;
  timestamp: number | undefined;
  type: string | undefined;
  userId: string | undefined;
  appId: string | undefined;
  clusterId: string | undefined;
}

/** Where the last short string read ended (decodeBasicProperties runs synchronously, start to end). */
let next = 0;

/** A short string property at `offset`: its length byte (RangeError past the end), then its text (clamped). */
function shortString(buffer: Buffer, offset: number): string {
  const len = buffer.readUInt8(offset);
  next = offset + 1 + len;
  return text(buffer, offset + 1, len);
}

/** The property flags and fields of a basic content header (the frame payload after class, weight, size). */
export function decodeBasicProperties(buffer: Buffer): DecodedProperties | Record<string, never> {
  const flags = buffer.readUInt16BE(0);
  if (flags === 0) return {};
  let offset = 2;
  const fields: DecodedProperties = {
    contentType: undefined,
    contentEncoding: undefined,
    headers: undefined,
    deliveryMode: undefined,
    priority: undefined,
    correlationId: undefined,
    replyTo: undefined,
    expiration: undefined,
    messageId: undefined,
    timestamp: undefined,
    type: undefined,
    userId: undefined,
    appId: undefined,
    clusterId: undefined,
  };
  if (flags & 0x8000) {
    fields.contentType = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x4000) {
    fields.contentEncoding = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x2000) {
    const len = buffer.readUInt32BE(offset);
    offset += 4;
    fields.headers = decodeFieldTable(buffer.subarray(offset, offset + len));
    offset += len;
  }
  if (flags & 0x1000) fields.deliveryMode = buffer[offset++];
  if (flags & 0x0800) fields.priority = buffer[offset++];
  if (flags & 0x0400) {
    fields.correlationId = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x0200) {
    fields.replyTo = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x0100) {
    fields.expiration = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x0080) {
    fields.messageId = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x0040) {
    fields.timestamp = Number(buffer.readBigUInt64BE(offset));
    offset += 8;
  }
  if (flags & 0x0020) {
    fields.type = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x0010) {
    fields.userId = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x0008) {
    fields.appId = shortString(buffer, offset);
    offset = next;
  }
  if (flags & 0x0004) {
    fields.clusterId = shortString(buffer, offset);
    offset = next;
  }
  return fields;
}
