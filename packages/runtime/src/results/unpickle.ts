/**
 * A pickle *reader* for what Celery's database backend stores in `celery_taskmeta.result`: SQLAlchemy's
 * PickleType pickles the raw result with the highest protocol (5 on Python 3.8+), and exceptions as
 * Celery's `{exc_type, exc_message, exc_module}` dict (result_serializer json). So a TypeScript reader can
 * see what a Python worker stored. It builds data only: no class is ever instantiated from the stream, and
 * a global outside the small allow-list below is refused (RESULT_UNREADABLE), never looked up.
 *
 *   None, bool, int (number, or bigint past 2^53), float, str, bytes (Buffer), list, tuple and set
 *   (arrays), dict (keys as text, as JSON has them), datetime (Date), date (CeleryDate), time
 *   (CeleryTime), Decimal (CeleryDecimal) — the value model the message decoder produces (kombuJson.ts).
 *
 * Opcodes and layouts follow CPython's Lib/pickle.py and Modules/_datetimemodule.c (`__reduce__`).
 */
import { call, Global, Timedelta, Timezone, unsupported } from "./pickleGlobals.js";

type Item = unknown;

const utf8 = new TextDecoder("utf-8");

/** Unpickle `data`; throws RESULT_UNREADABLE for anything outside the subset above. */
export function decodePickle(data: Uint8Array): unknown {
  return new Reader(Buffer.from(data.buffer, data.byteOffset, data.byteLength)).run();
}

class Reader {
  private pos = 0;
  private stack: Item[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, Item>();

  constructor(private readonly buf: Buffer) {}

  run(): unknown {
    for (;;) {
      const op = this.u8();
      if (op === 0x2e) {
        // STOP
        if (this.stack.length !== 1) throw unsupported("the stream ended with a malformed stack");
        return finish(this.stack[0]);
      }
      this.step(op);
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw unsupported("the stream is truncated");
  }
  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  private bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private u16(): number {
    return this.bytes(2).readUInt16LE(0);
  }
  private u32(): number {
    return this.bytes(4).readUInt32LE(0);
  }
  private u64(): number {
    const n = this.bytes(8).readBigUInt64LE(0);
    if (n > BigInt(this.buf.length)) throw unsupported("a length runs past the end of the stream");
    return Number(n);
  }
  private line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) throw unsupported("the stream is truncated");
    const text = this.buf.toString("latin1", this.pos, end);
    this.pos = end + 1;
    return text;
  }
  private pop(): Item {
    if (this.stack.length === 0) throw unsupported("the stack underflowed");
    return this.stack.pop();
  }
  private top(): Item {
    if (this.stack.length === 0) throw unsupported("the stack underflowed");
    return this.stack[this.stack.length - 1];
  }
  /** Everything pushed since the last MARK, which is removed. */
  private popMark(): Item[] {
    const at = this.marks.pop();
    if (at === undefined) throw unsupported("MARK is missing");
    return this.stack.splice(at);
  }
  private text(n: number): string {
    // pickle writes str as UTF-8 with surrogatepass; a lone surrogate decodes to U+FFFD here.
    return utf8.decode(this.bytes(n));
  }

  // One opcode; switches keep them tables the engine can jump through: scalars first (the most frequent),
  // then containers, then the memo and globals.
  private step(op: number): void {
    const s = this.stack;
    switch (op) {
      case 0x80: // PROTO
        if (this.u8() > 5) throw unsupported("the pickle protocol is newer than 5");
        return;
      case 0x95: // FRAME: a length prefix only
        this.u64();
        return;
      case 0x28: // MARK
        this.marks.push(s.length);
        return;
      case 0x4e: // NONE
        s.push(null);
        return;
      case 0x88: // NEWTRUE
        s.push(true);
        return;
      case 0x89: // NEWFALSE
        s.push(false);
        return;
      case 0x4b: // BININT1
        s.push(this.u8());
        return;
      case 0x4d: // BININT2
        s.push(this.u16());
        return;
      case 0x4a: // BININT
        s.push(this.bytes(4).readInt32LE(0));
        return;
      case 0x8a: // LONG1
        s.push(readLong(this.bytes(this.u8())));
        return;
      case 0x8b: // LONG4
        s.push(readLong(this.bytes(this.u32())));
        return;
      case 0x49: // INT (protocol 0/1 text form; True/False as I01/I00)
        s.push(textInt(this.line()));
        return;
      case 0x4c: // LONG (text form)
        s.push(normalInt(BigInt(this.line().replace(/L$/, ""))));
        return;
      case 0x47: // BINFLOAT
        s.push(this.bytes(8).readDoubleBE(0));
        return;
      case 0x46: // FLOAT (text form)
        s.push(Number.parseFloat(this.line()));
        return;
      case 0x8c: // SHORT_BINUNICODE
        s.push(this.text(this.u8()));
        return;
      case 0x58: // BINUNICODE
        s.push(this.text(this.u32()));
        return;
      case 0x8d: // BINUNICODE8
        s.push(this.text(this.u64()));
        return;
      case 0x43: // SHORT_BINBYTES
        s.push(Buffer.from(this.bytes(this.u8())));
        return;
      case 0x42: // BINBYTES
        s.push(Buffer.from(this.bytes(this.u32())));
        return;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        s.push(Buffer.from(this.bytes(this.u64())));
        return;
      default:
        this.container(op);
    }
  }

  private container(op: number): void {
    const s = this.stack;
    switch (op) {
      case 0x5d: // EMPTY_LIST
        s.push([]);
        return;
      case 0x29: // EMPTY_TUPLE
        s.push(Object.freeze([]));
        return;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op - 0x84;
        if (s.length < n) throw unsupported("the stack underflowed");
        s.push(Object.freeze(s.splice(s.length - n)));
        return;
      }
      case 0x74: // TUPLE
        s.push(Object.freeze(this.popMark()));
        return;
      case 0x6c: // LIST
        s.push(this.popMark());
        return;
      case 0x61: // APPEND
        this.list(s.length - 2).push(this.pop());
        return;
      case 0x65: {
        // APPENDS
        const items = this.popMark();
        this.list(s.length - 1).push(...items);
        return;
      }
      case 0x7d: // EMPTY_DICT
        s.push(new Map<unknown, unknown>());
        return;
      case 0x64: {
        // DICT
        const items = this.popMark();
        s.push(setItems(new Map(), items));
        return;
      }
      case 0x73: {
        // SETITEM
        const value = this.pop();
        const key = this.pop();
        setItems(this.dict(), [key, value]);
        return;
      }
      case 0x75: {
        // SETITEMS
        const items = this.popMark();
        setItems(this.dict(), items);
        return;
      }
      case 0x8f: // EMPTY_SET
        s.push(new Set<unknown>());
        return;
      case 0x90: {
        // ADDITEMS
        const items = this.popMark();
        const set = this.top();
        if (!(set instanceof Set)) throw unsupported("ADDITEMS without a set");
        for (const item of items) set.add(item);
        return;
      }
      case 0x91: // FROZENSET
        s.push(new Set(this.popMark()));
        return;
      default:
        this.memoOrGlobal(op);
    }
  }

  private memoOrGlobal(op: number): void {
    const s = this.stack;
    switch (op) {
      case 0x94: // MEMOIZE
        this.memo.set(this.memo.size, this.top());
        return;
      case 0x71: // BINPUT
        this.memo.set(this.u8(), this.top());
        return;
      case 0x72: // LONG_BINPUT
        this.memo.set(this.u32(), this.top());
        return;
      case 0x70: // PUT (text index)
        this.memo.set(Number(this.line()), this.top());
        return;
      case 0x68: // BINGET
        s.push(this.get(this.u8()));
        return;
      case 0x6a: // LONG_BINGET
        s.push(this.get(this.u32()));
        return;
      case 0x67: // GET (text index)
        s.push(this.get(Number(this.line())));
        return;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = this.line();
        s.push(new Global(`${module}.${this.line()}`));
        return;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== "string" || typeof name !== "string")
          throw unsupported("STACK_GLOBAL without names");
        s.push(new Global(`${module}.${name}`));
        return;
      }
      case 0x52: {
        // REDUCE
        const args = this.pop();
        const callable = this.pop();
        s.push(call(callable, args));
        return;
      }
      case 0x81: // NEWOBJ: cls.__new__(cls, *args)
      case 0x92: {
        // NEWOBJ_EX
        if (op === 0x92) this.pop();
        this.pop();
        const cls = this.pop();
        throw unsupported(
          `it constructs ${cls instanceof Global ? cls.name : "an object"}, an instance the reader does not build`,
        );
      }
      default:
        throw unsupported(`opcode 0x${op.toString(16).padStart(2, "0")} is outside the supported subset`);
    }
  }

  private get(index: number): Item {
    if (!this.memo.has(index)) throw unsupported(`memo ${index} is read before it is written`);
    return this.memo.get(index);
  }
  private list(at: number): unknown[] {
    const list = this.stack[at];
    if (!Array.isArray(list) || Object.isFrozen(list)) throw unsupported("APPEND without a list");
    return list;
  }
  private dict(): Map<unknown, unknown> {
    const dict = this.top();
    if (!(dict instanceof Map)) throw unsupported("SETITEM without a dict");
    return dict;
  }
}

function setItems(dict: Map<unknown, unknown>, items: Item[]): Map<unknown, unknown> {
  if (items.length % 2 !== 0) throw unsupported("a dict has a key without a value");
  for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  return dict;
}

/** Two's complement little-endian, as Python's `int.from_bytes(..., "little", signed=True)`. */
function readLong(bytes: Buffer): number | bigint {
  if (bytes.length === 0) return 0;
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return normalInt(n);
}

function normalInt(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function textInt(text: string): number | bigint | boolean {
  if (text === "01") return true;
  if (text === "00") return false;
  return normalInt(BigInt(text));
}

/** Maps become plain objects (keys as text, like JSON), sets become arrays; helpers must not leak out. */
function finish(value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value) {
      Object.defineProperty(out, keyText(key), {
        value: finish(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (value instanceof Set) return [...value].map(finish);
  if (Array.isArray(value)) return value.map(finish);
  if (value instanceof Global || value instanceof Timedelta || value instanceof Timezone)
    throw unsupported("the value is a bare class or a timedelta, which has no JSON form here");
  return value;
}

function keyText(key: unknown): string {
  if (typeof key === "string") return key;
  if (typeof key === "number" || typeof key === "bigint") return String(key);
  // As Python's json.dumps writes such keys.
  if (typeof key === "boolean") return key ? "true" : "false";
  if (key === null) return "null";
  throw unsupported("a dict key is not a string, number, boolean or None");
}
