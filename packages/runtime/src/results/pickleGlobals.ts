/**
 * What a pickle's REDUCE may call (unpickle.ts): the allow-list of globals the reader builds values from —
 * set, frozenset, bytearray, `_codecs.encode`, Decimal and the datetime types. Anything else is refused,
 * never resolved.
 */
import { ToolboxError } from "@worker-toolbox/config";
import { CeleryDate, CeleryDecimal, CeleryTime } from "../protocol/values.js";

/** A global named in the stream, resolved only against the allow-list when it is called. */
export class Global {
  constructor(readonly name: string) {}
}

export function unsupported(why: string): ToolboxError {
  return new ToolboxError("RESULT_UNREADABLE", `Cannot read the stored pickle: ${why}.`, {
    hint: "the toolbox reads pickles of JSON-like values, tuples, sets, bytes, dates, times and decimals; store other values as those",
  });
}

const args = (value: unknown, name: string, min: number, max = min): readonly unknown[] => {
  if (!Array.isArray(value) || value.length < min || value.length > max)
    throw unsupported(`${name} was called with unexpected arguments`);
  return value;
};

/** The allow-list: what a REDUCE may call. Anything else is refused, never resolved. */
export function call(callable: unknown, argv: unknown): unknown {
  if (!(callable instanceof Global)) throw unsupported("REDUCE of something that is not a global");
  const name = callable.name.replace(/^__builtin__\./, "builtins.");
  switch (name) {
    case "builtins.set":
    case "builtins.frozenset": {
      const [items = []] = args(argv, name, 0, 1);
      if (!Array.isArray(items)) throw unsupported(`${name} of something that is not a list`);
      return new Set(items);
    }
    case "builtins.bytearray":
    case "_codecs.encode": {
      // Protocol 2 writes bytes as _codecs.encode(text, "latin1").
      const [text = "", encoding = "latin1"] = args(argv, name, 0, 2);
      if (typeof text !== "string" || encoding !== "latin1")
        throw unsupported(`${name} of unexpected arguments`);
      return Buffer.from(text, "latin1");
    }
    case "decimal.Decimal": {
      const [text] = args(argv, name, 1);
      return new CeleryDecimal(String(text));
    }
    case "datetime.timedelta": {
      const [days = 0, seconds = 0, micros = 0] = args(argv, name, 0, 3).map(Number);
      return new Timedelta(((days * 86_400 + seconds) * 1_000_000 + micros) / 1_000);
    }
    case "datetime.timezone": {
      const [offset] = args(argv, name, 1, 2);
      if (!(offset instanceof Timedelta)) throw unsupported("datetime.timezone without an offset");
      return new Timezone(offset.ms);
    }
    case "datetime.datetime":
      return datetimeOf(args(argv, name, 1, 2));
    case "datetime.date": {
      const [state] = args(argv, name, 1);
      const b = stateBytes(state, 4, name);
      return new CeleryDate(`${pad(b[0]! * 256 + b[1]!, 4)}-${pad(b[2]!, 2)}-${pad(b[3]!, 2)}`);
    }
    case "datetime.time": {
      const [state, tz] = args(argv, name, 1, 2);
      const b = stateBytes(state, 6, name);
      const micros = (b[3]! << 16) | (b[4]! << 8) | b[5]!;
      const base = `${pad(b[0]! & 0x7f, 2)}:${pad(b[1]!, 2)}:${pad(b[2]!, 2)}${micros ? `.${pad(micros, 6)}` : ""}`;
      return new CeleryTime(tz instanceof Timezone ? base + tz.suffix() : base);
    }
    default:
      throw unsupported(`it calls ${name}, which the reader does not construct`);
  }
}

export class Timedelta {
  constructor(readonly ms: number) {}
}
export class Timezone {
  constructor(readonly offsetMs: number) {}
  suffix(): string {
    const minutes = Math.round(Math.abs(this.offsetMs) / 60_000);
    return `${this.offsetMs < 0 ? "-" : "+"}${pad(Math.floor(minutes / 60), 2)}:${pad(minutes % 60, 2)}`;
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

function stateBytes(state: unknown, length: number, name: string): Buffer {
  // Protocol 2 carries the state as latin-1 text (via _codecs.encode, or directly as a str).
  const bytes = typeof state === "string" ? Buffer.from(state, "latin1") : state;
  if (!Buffer.isBuffer(bytes) || bytes.length !== length)
    throw unsupported(`${name} with an unexpected state`);
  return bytes;
}

/** A naive datetime is UTC, as Celery's own timestamps are; an aware one is converted to an instant. */
function datetimeOf([state, tz]: readonly unknown[]): Date {
  const b = stateBytes(state, 10, "datetime.datetime");
  const micros = (b[7]! << 16) | (b[8]! << 8) | b[9]!;
  const utc = Date.UTC(
    b[0]! * 256 + b[1]!,
    (b[2]! & 0x7f) - 1,
    b[3]!,
    b[4]!,
    b[5]!,
    b[6]!,
    Math.floor(micros / 1000),
  );
  const date = new Date(utc - (tz instanceof Timezone ? tz.offsetMs : 0));
  // Date.UTC maps years 0-99 to 1900-1999.
  if (b[0]! * 256 + b[1]! < 100) date.setUTCFullYear(b[0]! * 256 + b[1]!);
  return date;
}
