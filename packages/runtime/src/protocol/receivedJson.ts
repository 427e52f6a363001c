/**
 * The arguments' JSON as received, reused for storage instead of encoded again.
 *
 * Celery's `result_extended` stores a task's args and kwargs as Kombu JSON bytes, and the tracker stores
 * them as jsonb. Both were written by encoding the decoded values back (`encodeJson`, `toJsonText`): at
 * 100 KB of arguments that was ~200-300 µs a task, for bytes the message body already holds. Most bodies
 * are written by `encodeJson` (our producer) or by Python's `json.dumps` (Celery), which write the same
 * canonical form; here a cheap scan of the body's `args` and `kwargs` proves that their text is exactly
 * what `encodeJson` writes for the decoded values, and then that text is stored as it is.
 *
 * The proof (kombuJson.ts is the encoder it must agree with; the body already parsed as JSON):
 * - separators: `", "` and `": "`, no other whitespace between tokens;
 * - strings: printable ASCII only (Python's ensure_ascii), escapes only where the encoder writes them
 *   (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, and `\u` + four lower-case hex digits for any other
 *   character outside `' '`..`'~'`);
 * - numbers: the token is `pythonNumber` of the number it parses to (so `1.0`, `1E5` or a too-large
 *   integer are not reused);
 * - objects: no key twice, no key of digits only (both change what `JSON.parse` gives back: the last
 *   duplicate wins, an index-like key moves first), no key with escapes, and no `__type__`/`__value__`
 *   key (Kombu's markers decode to a Date, a Buffer…, which the encoder may write differently).
 * Anything else returns undefined and the caller encodes as before: the fast path changes no stored byte.
 *
 * The stored arguments are the arguments as received (what Celery's `request.args` holds), taken from the
 * body the decoder read; a value that did not come from a decoded body is never looked up.
 */
import { isAscii } from "node:buffer";
import { MAX_JSON_DEPTH } from "./kombuJson.js";
import { pythonNumber } from "./repr.js";

/** A part of the body proven canonical; `jsonb` when PostgreSQL's jsonb reads it as `toJsonText`'s text. */
interface Part {
  bytes: Buffer;
  jsonb: boolean;
}

interface Received {
  content: Buffer;
  /** [args, kwargs] once scanned; null where the text is not what the encoder writes. */
  parts?: [Part | null, Part | null];
}

/**
 * The note, on the decoded args array and kwargs object themselves, under a symbol, not enumerable: identity
 * ties a value to the body it came from, and nothing that copies, enumerates or serializes the value sees it.
 * A WeakMap keyed by the values did the same, but its entries cost the collector 2-8 µs a message while a
 * worker holds its prefetch of them (it traces every live key); a property costs nothing to collect.
 */
const RECEIVED_ARGS = Symbol("worker-toolbox received args");
const RECEIVED_KWARGS = Symbol("worker-toolbox received kwargs");
type Noted = { [RECEIVED_ARGS]?: Received; [RECEIVED_KWARGS]?: Received };

/**
 * Below this many bytes of body, encoding the arguments again costs about what noting and scanning the body
 * does: such bodies are not noted. Encoding costs about 2-3 µs per KB of arguments; at 1 KB the reuse took
 * decoding plus the row's bytes from 7.35 to 6.37 µs (bench/README.md, "Worker CPU at 1 KB").
 */
export const REUSE_FROM_BYTES = 512;

function note(value: object, key: typeof RECEIVED_ARGS | typeof RECEIVED_KWARGS, body: Received): void {
  // A frozen value (a Kombu marker's) is not noted: it is encoded as before.
  if (Object.isExtensible(value))
    Object.defineProperty(value, key, {
      value: body,
      writable: false,
      enumerable: false,
      configurable: true,
    });
}

/** The decoder's note: `args` and `kwargs` were parsed from `content` (a `[args, kwargs, embed]` body). */
export function rememberReceived(args: object, kwargs: object, content: Buffer): void {
  if (content.length < REUSE_FROM_BYTES) return;
  const body: Received = { content };
  note(args, RECEIVED_ARGS, body);
  note(kwargs, RECEIVED_KWARGS, body);
}

function partOf(value: unknown): Part | null {
  if (value === null || typeof value !== "object") return null;
  const noted = value as Noted;
  const args = noted[RECEIVED_ARGS];
  const body = args ?? noted[RECEIVED_KWARGS];
  if (!body) return null;
  body.parts ??= scanBody(body.content);
  return body.parts[args ? 0 : 1];
}

/** The bytes `encodeJson(value)` would write, from the body `value` was decoded from; else undefined. */
export function receivedKombuJson(value: unknown): Buffer | undefined {
  return partOf(value)?.bytes;
}

/** The same bytes when jsonb reads them as the value `toJsonText` writes (no U+0000, no lone surrogate). */
export function receivedJsonbText(value: unknown): Buffer | undefined {
  const part = partOf(value);
  return part?.jsonb ? part.bytes : undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = 0x20;
const DEL = 0x7f;
const DIGITS_ONLY = /^\d+$/;
const HEX4 = /^[0-9a-f]{4}$/;

/** Scan state: the body, and flags that make a part unfit for jsonb. */
class Scan {
  /** Position of the next backslash at or after the last search, -1 for none left. */
  private backslash = -2;
  private quote = -2;
  jsonbUnsafe = false;
  /** Whether the last string scanned held an escape. */
  escaped = false;
  constructor(readonly buf: Buffer) {}

  /** The end of the canonical value at `p`, or -1 when its text is not what the encoder writes. */
  value(p: number, depth: number): number {
    const c = this.buf[p];
    if (c === QUOTE) return this.string(p);
    if (c === 0x5b) return this.array(p, depth + 1);
    if (c === 0x7b) return this.object(p, depth + 1);
    if (c === 0x74 || c === 0x6e) return p + 4; // true, null (the text is valid JSON)
    if (c === 0x66) return p + 5; // false
    return this.number(p);
  }

  private array(p: number, depth: number): number {
    if (depth > MAX_JSON_DEPTH) return -1;
    const { buf } = this;
    if (buf[p + 1] === 0x5d) return p + 2;
    for (let at = p + 1; ; ) {
      at = this.value(at, depth);
      if (at < 0) return -1;
      if (buf[at] === 0x5d) return at + 1;
      if (buf[at] !== COMMA || buf[at + 1] !== SPACE) return -1;
      at += 2;
    }
  }

  private object(p: number, depth: number): number {
    if (depth > MAX_JSON_DEPTH) return -1;
    const { buf } = this;
    if (buf[p + 1] === 0x7d) return p + 2;
    let first: string | undefined;
    let keys: Set<string> | undefined;
    for (let at = p + 1; ; ) {
      if (buf[at] !== QUOTE) return -1;
      const end = this.string(at);
      if (end < 0 || this.escaped) return -1;
      const key = buf.toString("latin1", at + 1, end - 1);
      if (key === "__type__" || key === "__value__" || DIGITS_ONLY.test(key)) return -1;
      if (first === undefined) first = key;
      else {
        keys ??= new Set([first]);
        if (keys.has(key)) return -1;
        keys.add(key);
      }
      if (buf[end] !== COLON || buf[end + 1] !== SPACE) return -1;
      at = this.value(end + 2, depth);
      if (at < 0) return -1;
      if (buf[at] === 0x7d) return at + 1;
      if (buf[at] !== COMMA || buf[at + 1] !== SPACE) return -1;
      at += 2;
    }
  }

  private number(p: number): number {
    const { buf } = this;
    let end = p;
    for (;;) {
      const c = buf[end];
      // - + . 0-9 e E
      if (c === 0x2d || c === 0x2b || c === 0x2e || (c! >= 0x30 && c! <= 0x39) || c === 0x65 || c === 0x45)
        end++;
      else break;
    }
    const token = buf.toString("latin1", p, end);
    return end > p && pythonNumber(Number(token)) === token ? end : -1;
  }

  /** A string from its opening quote: raw bytes are checked by the caller (printable ASCII), escapes here. */
  private string(p: number): number {
    const { buf } = this;
    this.escaped = false;
    for (let at = p + 1; ; ) {
      if (this.quote < at) this.quote = buf.indexOf(QUOTE, at);
      if (this.backslash !== -1 && this.backslash < at) this.backslash = buf.indexOf(BACKSLASH, at);
      if (this.backslash === -1 || this.backslash > this.quote) return this.quote + 1;
      this.escaped = true;
      at = this.escape(this.backslash);
      if (at < 0) return -1;
    }
  }

  /** The position after the escape at `p` (a surrogate pair counts as one) when the encoder writes it so. */
  private escape(p: number): number {
    const c = this.buf[p + 1];
    // " \ b f n r t
    if (c === QUOTE || c === BACKSLASH || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74)
      return p + 2;
    const code = this.unit(p); // \/ is valid JSON, but not what the encoder writes: -1 here too
    if (code < 0 || (code >= 0x20 && code <= 0x7e)) return -1;
    if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
    if (code === 0) this.jsonbUnsafe = true;
    else if (code >= 0xd800 && code <= 0xdbff) {
      // A high surrogate with its low half is one character; without it, jsonb refuses the escape.
      const low = this.buf[p + 6] === BACKSLASH ? this.unit(p + 6) : -1;
      if (low >= 0xdc00 && low <= 0xdfff) return p + 12;
      this.jsonbUnsafe = true;
    } else if (code >= 0xdc00 && code <= 0xdfff) this.jsonbUnsafe = true; // a low half with no high one
    return p + 6;
  }

  /** The UTF-16 unit of a `\u` escape written as the encoder writes it (lower-case hex), else -1. */
  private unit(p: number): number {
    if (this.buf[p + 1] !== 0x75) return -1;
    const hex = this.buf.toString("latin1", p + 2, p + 6);
    return HEX4.test(hex) ? Number.parseInt(hex, 16) : -1;
  }

  /** One part of the body from `p`: the part and where it ends, or the end and null. */
  part(p: number): { end: number; part: Part | null } {
    this.jsonbUnsafe = false;
    const end = this.value(p, 0);
    if (end < 0) return { end, part: null };
    const bytes = this.buf.subarray(p, end);
    // Raw bytes: printable ASCII only (the parsed JSON has no raw control characters; DEL is escaped).
    if (!isAscii(bytes) || bytes.indexOf(DEL) >= 0) return { end, part: null };
    return { end, part: { bytes, jsonb: !this.jsonbUnsafe } };
  }
}

/** `[args, kwargs, ...]`: the canonical parts of a body that parsed as JSON. */
function scanBody(content: Buffer): [Part | null, Part | null] {
  const scan = new Scan(content);
  let p = skipSpace(content, 0);
  if (content[p] !== 0x5b) return [null, null];
  const args = scan.part(skipSpace(content, p + 1));
  if (args.end < 0) return [null, null];
  p = skipSpace(content, args.end);
  if (content[p] !== COMMA) return [args.part, null];
  const kwargs = scan.part(skipSpace(content, p + 1));
  return [args.part, kwargs.end < 0 ? null : kwargs.part];
}

function skipSpace(buf: Buffer, p: number): number {
  let at = p;
  while (buf[at] === SPACE || buf[at] === 0x0a || buf[at] === 0x0d || buf[at] === 0x09) at++;
  return at;
}
