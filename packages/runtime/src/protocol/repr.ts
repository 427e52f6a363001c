/**
 * Python-style `repr` for the `argsrepr`/`kwargsrepr` headers, following Celery's `saferepr`
 * (celery/utils/saferepr.py): a token stream with a character budget (REPR_MAX_LENGTH), `...` once the
 * budget is spent (then the open brackets are closed), containers nested 3 deep shown as `[...]`, strings
 * always in single quotes with only `'` escaped. Values are rendered as a Python worker sees them after
 * decoding the JSON body: arrays → lists, objects → dicts, whole numbers → ints, Date → datetime.
 * Only people read these headers (logs, Flower), but matching Celery's rendering keeps mixed fleets uniform.
 */
import { formatIsoDateTime } from "./isoDateTime.js";
import { CeleryDate, CeleryDecimal, CeleryTime } from "./values.js";

/**
 * The character budget of the `argsrepr`/`kwargsrepr` headers. Celery's producer uses 1024
 * (`app.amqp.argsrepr_maxsize`); ours is 256. The headers are a preview for people (logs, Flower, `inspect`),
 * and a Python worker reads any length; but a message carries them to every queue it reaches, so at 1024 a
 * 1 KB argument's message doubled, and RabbitMQ spent about 15 µs more per task storing the two quorum copies
 * (bench/README.md, "1 KB against BullMQ"). Arguments whose repr fits (ids and versions, as tasks should
 * take) are shown exactly as Celery shows them.
 */
export const REPR_MAX_LENGTH = 256;
const MAX_LEVELS = 3;

const SURROGATE = /[\ud800-\udfff]/;
/** Python's len(): code points, where a JavaScript string counts UTF-16 units (a pair for astral ones). */
const pyLen = (s: string) => (SURROGATE.test(s) ? Array.from(s).length : s.length);

/** The first `n` code points of `s`, reading no further into it than 2n units (a 100 KB argument is cut, not scanned). */
function headCodePoints(s: string, n: number): string {
  const units = s.slice(0, n);
  return SURROGATE.test(units)
    ? Array.from(s.slice(0, 2 * n))
        .slice(0, n)
        .join("")
    : units;
}

/** True when `s` holds fewer than `maxlen` code points. */
function shorterThan(s: string, maxlen: number): boolean {
  if (s.length < maxlen) return true; // code points <= units
  if (s.length >= 2 * maxlen) return false; // at most 2 units per code point
  return pyLen(s) < maxlen;
}

/** celery.utils.text.truncate: cut at maxlen, back to the last space, then "...". */
function truncate(s: string, maxlen: number): string {
  if (maxlen <= 0 || shorterThan(s, maxlen)) return s;
  const head = headCodePoints(s, maxlen);
  const space = head.lastIndexOf(" ");
  return (space === -1 ? head : head.slice(0, space)) + "...";
}

/**
 * A number as Python writes the value it decodes from our JSON: a whole number below 1e21 as digits (Python
 * reads an int), anything else as a float repr, -0 as "-0.0" (keeping its sign). The JSON body and the
 * repr headers both use it, so they agree.
 */
export function pythonNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 && !Object.is(n, -0) ? String(n) : pythonFloatRepr(n);
}

/** Python's float repr: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const [mantissa = "0", expText = "0"] = Math.abs(x).toExponential().split("e");
  const exp = Number(expText);
  const digits = mantissa.replace(".", "");
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  return `${sign}${whole}.${digits.slice(exp + 1) || "0"}`;
}

function timezoneRepr(offsetMinutes: number): string {
  if (offsetMinutes === 0) return "datetime.timezone.utc";
  const total = offsetMinutes * 60;
  const days = Math.floor(total / 86_400);
  const parts = [days ? `days=${days}` : "", `seconds=${total - days * 86_400}`].filter(Boolean);
  return `datetime.timezone(datetime.timedelta(${parts.join(", ")}))`;
}

function valueRepr(value: Date | CeleryDate | CeleryTime | CeleryDecimal): string {
  if (value instanceof CeleryDecimal) return `Decimal('${value.value}')`;
  if (value instanceof CeleryDate) {
    const [y, m, d] = value.value.split("-").map(Number);
    return `datetime.date(${y}, ${m}, ${d})`;
  }
  // Python drops trailing zero microseconds, then zero seconds.
  const trim = (parts: number[], keep: number) => {
    while (parts.length > keep && parts[parts.length - 1] === 0) parts.pop();
    return parts.join(", ");
  };
  if (value instanceof CeleryTime) {
    const [, h, mi, s, us, sign, oh, om] =
      /^(\d+):(\d+):(\d+)(?:\.(\d+))?(?:([+-])(\d+):(\d+))?$/.exec(value.value) ?? [];
    const tz = sign
      ? `, tzinfo=${timezoneRepr((sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)))}`
      : "";
    return `datetime.time(${trim([Number(h), Number(mi), Number(s), Number(us ?? 0)], 2)}${tz})`;
  }
  const [date, time] = formatIsoDateTime(value).slice(0, -6).split("T") as [string, string];
  const [y, mo, d] = date.split("-").map(Number) as [number, number, number];
  const [h, mi, s] = time.slice(0, 8).split(":").map(Number) as [number, number, number];
  const us = Number(time.slice(9) || "0");
  return `datetime.datetime(${trim([y, mo, d, h, mi, s, us], 5)}, tzinfo=datetime.timezone.utc)`;
}

/**
 * Collects the repr: each piece of output ("token") is written while budget is left; the first token
 * met with the budget spent ends the output with `...` and the brackets still open, and stops the walk.
 */
class ReprWriter {
  out = "";
  /** Closing brackets of the containers being written, innermost last. */
  readonly open: string[] = [];
  private stopped = false;

  constructor(private budget: number) {}

  /** Writes one token; false when the output is complete and the walk should stop. */
  write(kind: "open" | "close" | "sep" | "quoted" | "other", text: string): boolean {
    if (this.stopped) return false;
    if (this.budget <= 0) {
      this.out = `${this.out}, ...${[...this.open].reverse().join("")}`;
      this.stopped = true;
      return false;
    }
    const rendered =
      kind === "quoted"
        ? `'${truncate(text, this.budget).replace(/'/g, "\\'")}'`
        : kind === "other"
          ? truncate(text, this.budget)
          : text;
    this.append(rendered);
    return true;
  }

  writeBytes(bytes: Uint8Array): boolean {
    if (this.budget <= 0) return this.write("other", "");
    this.append(bytesRepr(bytes, this.budget));
    return true;
  }

  private append(rendered: string): void {
    this.out += rendered;
    this.budget -= pyLen(rendered);
  }
}

/** Writes `value` at nesting `level`; false once the writer has stopped. */
function writeRepr(value: unknown, level: number, writer: ReprWriter, tuple = false): boolean {
  if (value === null || value === undefined) return writer.write("other", "None");
  if (typeof value === "boolean") return writer.write("other", value ? "True" : "False");
  if (typeof value === "number") return writer.write("other", pythonNumber(value));
  if (typeof value === "string") return writer.write("quoted", value);
  if (value instanceof Uint8Array) return writer.writeBytes(value);
  if (
    value instanceof Date ||
    value instanceof CeleryDate ||
    value instanceof CeleryTime ||
    value instanceof CeleryDecimal
  ) {
    return writer.write("other", valueRepr(value));
  }
  if (typeof value !== "object") return writer.write("other", String(value));
  const isArray = Array.isArray(value);
  const object = value as Record<string, unknown>;
  const entries = isArray ? (value as unknown[]) : Object.keys(object).filter((k) => object[k] !== undefined);
  const start = tuple ? "(" : isArray ? "[" : "{";
  const close = tuple ? (entries.length === 1 ? ",)" : ")") : isArray ? "]" : "}";
  if (level >= MAX_LEVELS) return writer.write("other", `${start}...${close}`);
  writer.open.push(close);
  if (!writer.write("open", start)) return false;
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && !writer.write("sep", ", ")) return false;
    if (isArray) {
      if (!writeRepr(entries[i], level + 1, writer)) return false;
    } else {
      const key = entries[i] as string;
      if (!writer.write("quoted", key) || !writer.write("sep", ": ")) return false;
      if (!writeRepr(object[key], level + 1, writer)) return false;
    }
  }
  writer.open.pop();
  return writer.write("close", close);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
function bytesRepr(bytes: Uint8Array, maxlen: number): string {
  const cut = bytes.length > maxlen;
  const chunk = cut ? bytes.subarray(0, maxlen) : bytes;
  let text: string;
  try {
    text = utf8.decode(chunk);
  } catch {
    text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("hex");
  }
  return `b'${text}${cut ? "..." : ""}'`;
}

/** `saferepr(value, maxlen)`; `tuple` renders a top-level array as a Python tuple (how Celery sees args). */
export function pythonRepr(value: unknown, options: { maxLength?: number; tuple?: boolean } = {}): string {
  const writer = new ReprWriter(options.maxLength ?? REPR_MAX_LENGTH);
  writeRepr(value, 0, writer, options.tuple);
  return writer.out;
}

/** The `argsrepr` header: args as the tuple Celery's `apply_async(args=(...))` would show. */
export const argsRepr = (args: readonly unknown[]): string => pythonRepr(args, { tuple: true });
/** The `kwargsrepr` header. */
export const kwargsRepr = (kwargs: Record<string, unknown>): string => pythonRepr(kwargs);
