/**
 * The frames of one AMQP 0-9-1 `basic.publish` (method, content header, body), encoded in one buffer, byte
 * for byte as amqplib 2.x encodes them (test: publishFrames.test.ts compares both on every kind of header
 * value). Why not amqplib's own encoder: its field-table encoder writes a Celery message's 20 headers with
 * about 60 small native string writes and a length pass, which measured 15 µs of producer CPU per task in
 * the end-to-end bench (bench/README.md, "Producer"); here key names are encoded once and reused, and each
 * string is written once, its length filled in after.
 */
import type { Options } from "amqplib";

const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_END = 206;
/** Frame type (1), channel (2), size (4) ... frame end (1). */
const FRAME_OVERHEAD = 8;
const BASIC_CLASS = 60;
const BASIC_PUBLISH = 40;

/** Encoded field-table keys (a short string each: length byte + bytes), by name. */
const keys = new Map<string, Buffer>();

function keyBytes(key: string): Buffer {
  let bytes = keys.get(key);
  if (!bytes) {
    const text = Buffer.from(key, "utf8");
    if (text.length > 255) throw new RangeError(`header name ${key.slice(0, 40)}… is longer than 255 bytes`);
    bytes = Buffer.concat([Buffer.from([text.length]), text]);
    // Header names come from code, not data; bound the cache all the same.
    if (keys.size < 10_000) keys.set(key, bytes);
  }
  return bytes;
}

/** Encodes into one growing scratch buffer; `take()` copies out what was written. */
class Writer {
  buffer = Buffer.allocUnsafe(64 * 1024);
  offset = 0;

  reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(next, 0, 0, this.offset);
    this.buffer = next;
  }

  u8(n: number): void {
    this.reserve(1);
    this.buffer[this.offset++] = n;
  }

  u16(n: number): void {
    this.reserve(2);
    this.offset = this.buffer.writeUInt16BE(n, this.offset);
  }

  u32(n: number): void {
    this.reserve(4);
    this.offset = this.buffer.writeUInt32BE(n, this.offset);
  }

  bytes(b: Buffer): void {
    this.reserve(b.length);
    // A few bytes (a header name) copy faster in a loop than through a native call.
    if (b.length < 48) for (let i = 0; i < b.length; i++) this.buffer[this.offset++] = b[i]!;
    else this.offset += b.copy(this.buffer, this.offset);
  }

  /** Write `s` at `at` when it is short ASCII (the usual header value): its length, else -1 (nothing usable). */
  private ascii(s: string, at: number): number {
    if (s.length > 64) return -1;
    const buffer = this.buffer;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) return -1;
      buffer[at + i] = c;
    }
    return s.length;
  }

  /** A short string (length byte + UTF-8), as amqplib writes property values. */
  shortString(s: string): void {
    const len = Buffer.byteLength(s, "utf8");
    if (len > 255)
      throw new TypeError(`a short string property is longer than 255 bytes: ${s.slice(0, 40)}…`);
    this.reserve(1 + len);
    this.buffer[this.offset++] = len;
    this.offset += this.buffer.write(s, this.offset, len, "utf8");
  }

  /** A long string (uint32 length + UTF-8): the length is filled in after the one write. */
  longString(s: string): void {
    this.reserve(4 + s.length * 3);
    const at = this.offset;
    let len = this.ascii(s, at + 4);
    if (len < 0) len = this.buffer.write(s, at + 4, "utf8");
    this.buffer.writeUInt32BE(len, at);
    this.offset = at + 4 + len;
  }
}

/** amqplib's guess of a number's field type (codec.js): a double, else the smallest signed integer. */
function number(w: Writer, n: number): void {
  if (n >= 0x8000000000000000 || (Math.abs(n) < 0x4000000000000 && Math.floor(n) !== n)) {
    w.u8(0x64); // 'd'
    w.reserve(8);
    w.offset = w.buffer.writeDoubleBE(n, w.offset);
  } else if (n < 128 && n >= -128) {
    w.u8(0x62); // 'b'
    w.reserve(1);
    w.offset = w.buffer.writeInt8(n, w.offset);
  } else if (n >= -0x8000 && n < 0x8000) {
    w.u8(0x73); // 's'
    w.reserve(2);
    w.offset = w.buffer.writeInt16BE(n, w.offset);
  } else if (n >= -0x80000000 && n < 0x80000000) {
    w.u8(0x49); // 'I'
    w.reserve(4);
    w.offset = w.buffer.writeInt32BE(n, w.offset);
  } else {
    w.u8(0x6c); // 'l'
    w.reserve(8);
    w.offset = w.buffer.writeBigInt64BE(BigInt(n), w.offset);
  }
}

/** One field value; throws for what amqplib cannot send either (the producer checks headers before). */
function value(w: Writer, v: unknown): void {
  switch (typeof v) {
    case "string":
      w.u8(0x53); // 'S'
      w.longString(v);
      return;
    case "number":
      number(w, v);
      return;
    case "boolean":
      w.u8(0x74); // 't'
      w.u8(v ? 1 : 0);
      return;
    case "object":
      if (v === null)
        w.u8(0x56); // 'V'
      else if (Array.isArray(v)) {
        w.u8(0x41); // 'A'
        const at = openSized(w);
        for (const item of v) value(w, item);
        closeSized(w, at);
      } else if (Buffer.isBuffer(v)) {
        w.u8(0x78); // 'x'
        w.u32(v.length);
        w.bytes(v);
      } else if (Object.hasOwn(v, "!")) throw new TypeError("typed header values ({'!': type}) are not sent");
      else {
        w.u8(0x46); // 'F'
        table(w, v as Record<string, unknown>);
      }
      return;
    default:
      throw new TypeError(`a header value of type ${typeof v} cannot be sent`);
  }
}

/** Leave room for a uint32 size; returns where it goes (closeSized fills it in). */
function openSized(w: Writer): number {
  w.reserve(4);
  const at = w.offset;
  w.offset += 4;
  return at;
}

function closeSized(w: Writer, at: number): void {
  w.buffer.writeUInt32BE(w.offset - at - 4, at);
}

/** A field table; undefined values are left out, as amqplib does. */
function table(w: Writer, fields: Record<string, unknown>): void {
  const at = openSized(w);
  for (const key in fields) {
    const v = fields[key];
    if (v === undefined) continue;
    w.bytes(keyBytes(key));
    value(w, v);
  }
  closeSized(w, at);
}

/** A short-string property when set (amqplib leaves out undefined and null: `void 0 != val`); its flag or 0. */
function short(w: Writer, flag: number, v: string | undefined | null): number {
  if (v === undefined || v === null) return 0;
  w.shortString(v);
  return flag;
}

/** The content-header properties a publish may set, in the order and with the flags of AMQP 0-9-1. */
function properties(w: Writer, p: Options.Publish, messageId: string | undefined): void {
  const flagsAt = w.offset;
  w.u16(0);
  let flags = 0;
  flags |= short(w, 0x8000, p.contentType);
  flags |= short(w, 0x4000, p.contentEncoding);
  // amqplib always sends a headers table (an empty one without headers).
  flags |= 0x2000;
  table(w, (p.headers ?? {}) as Record<string, unknown>);
  const deliveryMode =
    p.persistent !== undefined
      ? p.persistent
        ? 2
        : 1
      : typeof p.deliveryMode === "number"
        ? p.deliveryMode
        : p.deliveryMode
          ? 2
          : undefined;
  if (deliveryMode !== undefined) {
    flags |= 0x1000;
    w.u8(deliveryMode);
  }
  if (p.priority !== undefined && p.priority !== null) {
    flags |= 0x0800;
    w.u8(p.priority);
  }
  flags |= short(w, 0x0400, p.correlationId);
  flags |= short(w, 0x0200, p.replyTo);
  flags |= short(
    w,
    0x0100,
    p.expiration === undefined || p.expiration === null ? undefined : String(p.expiration),
  );
  flags |= short(w, 0x0080, messageId ?? p.messageId);
  if (p.timestamp !== undefined && p.timestamp !== null) {
    flags |= 0x0040;
    w.reserve(8);
    w.offset = w.buffer.writeBigUInt64BE(BigInt(p.timestamp), w.offset);
  }
  flags |= short(w, 0x0020, p.type);
  flags |= short(w, 0x0010, p.userId);
  flags |= short(w, 0x0008, p.appId);
  w.buffer.writeUInt16BE(flags, flagsAt);
}

/** Open a frame of `type` on `channel`; returns where its size goes. */
function openFrame(w: Writer, type: number, channel: number): number {
  w.u8(type);
  w.u16(channel);
  const at = w.offset;
  w.u32(0);
  return at;
}

function closeFrame(w: Writer, sizeAt: number): void {
  w.buffer.writeUInt32BE(w.offset - sizeAt - 4, sizeAt);
  w.u8(FRAME_END);
}

const writer = new Writer();

export interface PublishFrameInput {
  channel: number;
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  properties: Options.Publish;
  /** Sent as the messageId property instead of `properties.messageId` (saves copying the properties). */
  messageId?: string;
  content: Buffer;
  /** The connection's negotiated frame size: a body longer than fits in one frame is split. */
  frameMax: number;
}

/**
 * Every frame of one publish, ready to write to the connection. Only the properties amqplib's `publish`
 * would set from these options (no CC/BCC, which amqplib moves into the headers: callers do not use them).
 */
export function encodePublish(input: PublishFrameInput): Buffer {
  return Buffer.concat(encodePublishChunks(input));
}

/** amqplib writes a publish of this many bytes or more as several chunks (connection.js). */
const SINGLE_CHUNK_THRESHOLD = 2048;

/**
 * The frames in the chunks amqplib writes them to the channel's buffer, whose high-water mark counts chunks
 * (so backpressure comes as soon as with amqplib): one chunk under 2 KiB; else the method and header frames,
 * then each body frame. The chunks are views of one buffer.
 */
export function encodePublishChunks(input: PublishFrameInput): Buffer[] {
  const w = writer;
  w.offset = 0;
  const { channel, content } = input;
  let at = openFrame(w, FRAME_METHOD, channel);
  w.u16(BASIC_CLASS);
  w.u16(BASIC_PUBLISH);
  w.u16(0); // ticket
  w.shortString(input.exchange);
  w.shortString(input.routingKey);
  w.u8(input.mandatory ? 1 : 0); // mandatory; immediate off
  closeFrame(w, at);
  const methodEnd = w.offset;
  at = openFrame(w, FRAME_HEADER, channel);
  w.u16(BASIC_CLASS);
  w.u16(0); // weight
  w.reserve(8);
  w.offset = w.buffer.writeBigUInt64BE(BigInt(content.length), w.offset);
  properties(w, input.properties, input.messageId);
  closeFrame(w, at);
  const ends = [w.offset];
  const maxBody = input.frameMax - FRAME_OVERHEAD;
  for (let offset = 0; offset < content.length; offset += maxBody) {
    const part = content.subarray(offset, Math.min(content.length, offset + maxBody));
    at = openFrame(w, FRAME_BODY, channel);
    w.bytes(part);
    closeFrame(w, at);
    ends.push(w.offset);
  }
  const out = Buffer.allocUnsafe(w.offset);
  w.buffer.copy(out, 0, 0, w.offset);
  // A large message grew the scratch buffer: do not keep megabytes for the next small one.
  if (w.buffer.length > 1024 * 1024) w.buffer = Buffer.allocUnsafe(64 * 1024);
  if (out.length < SINGLE_CHUNK_THRESHOLD) return [out];
  // Method and header frames together when they are small (as amqplib), else apart.
  if (ends[0]! >= SINGLE_CHUNK_THRESHOLD) ends.unshift(methodEnd);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const end of ends) {
    chunks.push(out.subarray(from, end));
    from = end;
  }
  return chunks;
}
