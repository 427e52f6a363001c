/**
 * A pickle protocol 2 *writer* for JSON-like values, so TypeScript workers can fill Celery's
 * `celery_taskmeta.result` column (a SQLAlchemy PickleType) in a form `AsyncResult.get()` reads.
 * Only writing is needed: Celery unpickles, we never do. Opcodes and layouts follow CPython's
 * Lib/pickle.py; the subset is the one verified against Celery in research/anchors-mission.md §4.1.
 */
import { ToolboxError } from "@worker-toolbox/config";
import { CeleryDate, CeleryDecimal, CeleryTime } from "../protocol/values.js";

/** Values the encoder accepts: JSON plus bigint (Python int of any size). */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly PickleValue[]
  | { readonly [key: string]: PickleValue | undefined };

const OP = {
  PROTO: 0x80,
  STOP: 0x2e, // .
  NONE: 0x4e, // N
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a, // J: signed 32-bit little-endian
  BININT1: 0x4b, // K: unsigned 8-bit
  BININT2: 0x4d, // M: unsigned 16-bit little-endian
  LONG1: 0x8a, // two's complement little-endian, 1-byte length
  LONG4: 0x8b, // same, 4-byte length
  BINFLOAT: 0x47, // G: IEEE 754 double, big-endian
  BINUNICODE: 0x58, // X: 4-byte length + UTF-8 (surrogatepass)
  EMPTY_LIST: 0x5d, // ]
  EMPTY_DICT: 0x7d, // }
  MARK: 0x28, // (
  APPENDS: 0x65, // e
  SETITEMS: 0x75, // u
  GLOBAL: 0x63, // c: module\nname\n
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  REDUCE: 0x52, // R: call the callable below the argument tuple
} as const;

/**
 * Appends to one growable buffer (a shared scratch buffer: encoding is synchronous, so calls never
 * interleave) and copies the finished pickle out. The key path is a stack, turned into text only for an
 * error message, so a well-formed value costs no string building.
 */
class ByteWriter {
  private static scratch = Buffer.allocUnsafe(1024);
  private buf = ByteWriter.scratch;
  private pos = 0;
  readonly path: (string | number)[] = [];

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    // Keep a moderately larger scratch for next time, not one sized for a rare huge value.
    if (grown.length <= 64 * 1024) ByteWriter.scratch = grown;
  }
  byte(b: number): this {
    this.room(1);
    this.buf[this.pos++] = b;
    return this;
  }
  /** An opcode followed by a little-endian integer of `width` bytes (1, 2 or 4; signed for 4). */
  opInt(op: number, n: number, width: 1 | 2 | 4): this {
    this.room(1 + width);
    this.buf[this.pos++] = op;
    if (width === 1) this.buf[this.pos] = n;
    else if (width === 2) this.buf.writeUInt16LE(n, this.pos);
    else this.buf.writeInt32LE(n, this.pos);
    this.pos += width;
    return this;
  }
  uint32(n: number): this {
    this.room(4);
    this.pos = this.buf.writeUInt32LE(n, this.pos);
    return this;
  }
  doubleBE(x: number): this {
    this.room(8);
    this.pos = this.buf.writeDoubleBE(x, this.pos);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** BINUNICODE: 4-byte length, then UTF-8 written straight into the buffer. */
  unicode(s: string): this {
    if (hasLoneSurrogate(s)) {
      const bytes = utf8SurrogatePass(s);
      this.byte(OP.BINUNICODE).uint32(bytes.length);
      return this.bytes(bytes);
    }
    const length = Buffer.byteLength(s, "utf8");
    this.room(5 + length);
    this.buf[this.pos++] = OP.BINUNICODE;
    this.pos = this.buf.writeUInt32LE(length, this.pos);
    this.pos += this.buf.write(s, this.pos, length, "utf8");
    return this;
  }
  /** GLOBAL: push `module.name` (a class or function Python imports when it unpickles). */
  global(module: string, name: string): this {
    this.byte(OP.GLOBAL);
    return this.bytes(Buffer.from(`${module}\n${name}\n`, "latin1"));
  }
  pathText(): string {
    return this.path.reduce<string>(
      (text, key) => (typeof key === "number" ? `${text}[${key}]` : `${text}.${key}`),
      "$",
    );
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** Encode `value` as a pickle (protocol 2) that Python's `pickle.loads` turns into the same value. */
export function encodePickle(value: unknown): Buffer {
  const w = new ByteWriter();
  w.byte(OP.PROTO).byte(2);
  writeValue(w, value);
  w.byte(OP.STOP);
  return w.done();
}

function writeValue(w: ByteWriter, value: unknown): ByteWriter {
  if (value === null || value === undefined) return w.byte(OP.NONE);
  switch (typeof value) {
    case "boolean":
      return w.byte(value ? OP.NEWTRUE : OP.NEWFALSE);
    case "bigint":
      return writeInt(w, value);
    case "number":
      if (!Number.isFinite(value)) throw notSerializable(w.pathText(), `${value} is not a JSON number`);
      // -0 stays a float so Python sees -0.0; other safe integers become Python ints.
      if (Number.isInteger(value) && !Object.is(value, -0)) {
        if (value >= 0 && value < 0x100) return w.opInt(OP.BININT1, value, 1);
        if (value >= 0 && value < 0x10000) return w.opInt(OP.BININT2, value, 2);
        if (value >= -0x80000000 && value < 0x80000000) return w.opInt(OP.BININT, value, 4);
        if (Number.isSafeInteger(value)) return writeInt(w, BigInt(value));
      }
      return w.byte(OP.BINFLOAT).doubleBE(value);
    case "string":
      return w.unicode(value);
    case "object":
      if (Array.isArray(value)) return writeList(w, value);
      if (isPlainObject(value)) return writeDict(w, value);
      if (writePythonValue(w, value)) return w;
      throw notSerializable(w.pathText(), `${describe(value)} is not a plain object or a Celery value`);
    default:
      throw notSerializable(w.pathText(), `a ${typeof value} cannot be pickled`);
  }
}

/**
 * The Kombu types of the value model (protocol/values.ts) as the Python objects they stand for, pickled
 * the way Python's own protocol-2 writer does it: `datetime.datetime/date/time` from their packed state
 * bytes, `decimal.Decimal(text)`, and bytes as `_codecs.encode(latin-1 text, "latin1")`. False when
 * `value` is none of them.
 */
function writePythonValue(w: ByteWriter, value: object): boolean {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw notSerializable(w.pathText(), "the Date is invalid");
    const year = value.getUTCFullYear();
    if (year < 1 || year > 9999)
      throw notSerializable(w.pathText(), "Python datetimes hold years 1 to 9999 only");
    const us = value.getUTCMilliseconds() * 1_000;
    const state = [year >> 8, year & 0xff, value.getUTCMonth() + 1, value.getUTCDate(), value.getUTCHours()];
    state.push(value.getUTCMinutes(), value.getUTCSeconds(), us >> 16, (us >> 8) & 0xff, us & 0xff);
    w.global("datetime", "datetime");
    writeBytes(w, state);
    writeTimezone(w, 0);
    w.byte(OP.TUPLE2).byte(OP.REDUCE);
  } else if (value instanceof CeleryDate) {
    const [year, month, day] = value.value.split("-").map(Number) as [number, number, number];
    w.global("datetime", "date");
    writeBytes(w, [year >> 8, year & 0xff, month, day]);
    w.byte(OP.TUPLE1).byte(OP.REDUCE);
  } else if (value instanceof CeleryTime) {
    const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{6}))?(?:([+-])(\d\d):(\d\d))?$/.exec(value.value)!;
    const us = Number(m[4] ?? 0);
    w.global("datetime", "time");
    writeBytes(w, [Number(m[1]), Number(m[2]), Number(m[3]), us >> 16, (us >> 8) & 0xff, us & 0xff]);
    if (m[5] === undefined) w.byte(OP.TUPLE1);
    else {
      const minutes = (Number(m[6]) * 60 + Number(m[7])) * (m[5] === "-" ? -1 : 1);
      writeTimezone(w, minutes);
      w.byte(OP.TUPLE2);
    }
    w.byte(OP.REDUCE);
  } else if (value instanceof CeleryDecimal) {
    w.global("decimal", "Decimal").unicode(value.value).byte(OP.TUPLE1).byte(OP.REDUCE);
  } else if (value instanceof Uint8Array) {
    writeBytes(w, value);
  } else return false;
  return true;
}

/** Python bytes in protocol 2: `_codecs.encode(text, "latin1")`, one character per byte. */
function writeBytes(w: ByteWriter, bytes: ArrayLike<number>): void {
  let latin1 = "";
  for (let i = 0; i < bytes.length; i++) latin1 += String.fromCharCode(bytes[i]!);
  w.global("_codecs", "encode").unicode(latin1).unicode("latin1").byte(OP.TUPLE2).byte(OP.REDUCE);
}

/** `datetime.timezone(datetime.timedelta(days, seconds, 0))` for an offset in minutes east of UTC. */
function writeTimezone(w: ByteWriter, offsetMinutes: number): void {
  const seconds = offsetMinutes * 60;
  const days = Math.floor(seconds / 86_400);
  w.global("datetime", "timezone").global("datetime", "timedelta");
  writeValue(w, days);
  writeValue(w, seconds - days * 86_400);
  writeValue(w, 0);
  w.byte(OP.TUPLE3).byte(OP.REDUCE).byte(OP.TUPLE1).byte(OP.REDUCE);
}

function writeInt(w: ByteWriter, n: bigint): ByteWriter {
  if (n >= 0n && n < 0x100n) return w.opInt(OP.BININT1, Number(n), 1);
  if (n >= 0n && n < 0x10000n) return w.opInt(OP.BININT2, Number(n), 2);
  if (n >= -0x80000000n && n < 0x80000000n) return w.opInt(OP.BININT, Number(n), 4);
  const bytes = twosComplementLE(n);
  if (bytes.length < 256) w.byte(OP.LONG1).byte(bytes.length);
  else w.byte(OP.LONG4).uint32(bytes.length);
  return w.bytes(bytes);
}

/** Minimal two's complement little-endian bytes, as Python's `int.to_bytes(..., signed=True)`. */
function twosComplementLE(n: bigint): Uint8Array {
  const out: number[] = [];
  let rest = n;
  for (;;) {
    const low = Number(rest & 0xffn);
    out.push(low);
    rest >>= 8n; // arithmetic shift: negative numbers converge to -1
    const signBit = (low & 0x80) !== 0;
    if ((rest === 0n && !signBit) || (rest === -1n && signBit)) return Uint8Array.from(out);
  }
}

/**
 * UTF-8 that keeps lone surrogates as 3-byte sequences, matching the 'surrogatepass' error
 * handler pickle decodes BINUNICODE with (Buffer.from would replace them with U+FFFD).
 */
function utf8SurrogatePass(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) {
      out.push(...Buffer.from(String.fromCodePoint(cp), "utf8"));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
    } else {
      out.push(...Buffer.from(String.fromCharCode(unit), "utf8"));
    }
  }
  return Buffer.from(out);
}

// Without the u flag the regex sees UTF-16 code units, which is what makes a surrogate "lone".
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** String.prototype.isWellFormed, which the project's TypeScript lib target does not declare yet. */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

function writeList(w: ByteWriter, items: readonly unknown[]): ByteWriter {
  w.byte(OP.EMPTY_LIST);
  if (items.length === 0) return w;
  w.byte(OP.MARK);
  // Like JSON.stringify, holes and undefined become None so both encodings agree.
  for (let i = 0; i < items.length; i++) {
    w.path.push(i);
    writeValue(w, items[i]);
    w.path.pop();
  }
  return w.byte(OP.APPENDS);
}

function writeDict(w: ByteWriter, obj: Record<string, unknown>): ByteWriter {
  w.byte(OP.EMPTY_DICT);
  // Like JSON.stringify, properties whose value is undefined are left out.
  let marked = false;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    if (!marked) {
      w.byte(OP.MARK);
      marked = true;
    }
    w.unicode(key);
    w.path.push(key);
    writeValue(w, v);
    w.path.pop();
  }
  return marked ? w.byte(OP.SETITEMS) : w;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: object): string {
  return value.constructor?.name ? `a ${value.constructor.name}` : "an object";
}

function notSerializable(path: string, why: string): ToolboxError {
  return new ToolboxError("MESSAGE_NOT_SERIALIZABLE", `Cannot store the value at ${path}: ${why}.`, {
    hint: "Task results, progress meta and errors must be JSON-like: null, booleans, numbers, bigints, strings, arrays and plain objects.",
  });
}

/** Celery's serialized form of an exception (celery/backends/base.py `prepare_exception`). */
export interface CeleryExceptionDict {
  exc_type: string;
  exc_message: string[];
  exc_module: string;
}

export function celeryExceptionDict(
  excType: string,
  message: string,
  module = "builtins",
): CeleryExceptionDict {
  return { exc_type: excType, exc_message: [message], exc_module: module };
}

/**
 * The pickled exception dict Celery expects in `result` for FAILURE/RETRY/REVOKED rows.
 * `AsyncResult.get()` re-raises `module.excType(message)`; Celery only rebuilds real exception
 * classes, so pass e.g. ("ValueError", msg, "builtins") for errors Python code should catch.
 */
export function celeryExceptionPickle(excType: string, message: string, module = "builtins"): Buffer {
  return encodePickle(celeryExceptionDict(excType, message, module));
}
