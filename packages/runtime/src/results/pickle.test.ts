import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { isToolboxError } from "@worker-toolbox/config";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIsoDateTime } from "../protocol/isoDateTime.js";
import { reviveMarkers } from "../protocol/kombuJson.js";
import {
  celeryDate,
  celeryDecimal,
  celeryTime,
  kombuValue,
  pythonDate,
} from "../protocol/testArbitraries.js";
import { CeleryDate, CeleryDecimal, CeleryTime } from "../protocol/values.js";
import { jsonbString, toJsonText } from "./jsonText.js";
import { celeryExceptionPickle, encodePickle } from "./pickle.js";

/**
 * Python unpickles each value and answers with a typed description ("int" vs "float" vs "bool",
 * floats as their exact IEEE bytes, dict key order kept), compared against what the encoder
 * promises. This checks real `pickle.loads`, not byte snapshots.
 */
const PY = String.raw`
import sys, pickle, json, struct, datetime, decimal
def typed(x):
    if x is None: return ["none"]
    if isinstance(x, datetime.datetime): return ["datetime", x.isoformat()]
    if isinstance(x, datetime.date): return ["date", x.isoformat()]
    if isinstance(x, datetime.time): return ["time", x.isoformat()]
    if isinstance(x, decimal.Decimal): return ["decimal", str(x)]
    if isinstance(x, bytes): return ["bytes", x.hex()]
    if x is True or x is False: return ["bool", x]
    if isinstance(x, int): return ["int", str(x)]
    if isinstance(x, float): return ["float", struct.pack(">d", x).hex()]
    if isinstance(x, str): return ["str", x]
    if isinstance(x, list): return ["list", [typed(i) for i in x]]
    if isinstance(x, dict): return ["dict", [[typed(k), typed(v)] for k, v in x.items()]]
    return ["other", repr(type(x))]
for line in sys.stdin:
    try:
        out = typed(pickle.loads(bytes.fromhex(line.strip())))
    except Exception as e:
        out = ["error", repr(e)]
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
`;

type Typed = unknown[];

function expected(value: unknown): Typed {
  if (value === null || value === undefined) return ["none"];
  if (typeof value === "boolean") return ["bool", value];
  if (typeof value === "bigint") return ["int", value.toString()];
  if (typeof value === "number") {
    if (Number.isSafeInteger(value) && !Object.is(value, -0)) return ["int", String(value)];
    const b = Buffer.alloc(8);
    b.writeDoubleBE(value);
    return ["float", b.toString("hex")];
  }
  if (typeof value === "string") return ["str", value];
  if (value instanceof Date) return ["datetime", formatIsoDateTime(value)];
  if (value instanceof CeleryDate) return ["date", value.value];
  if (value instanceof CeleryTime) return ["time", value.value];
  if (value instanceof CeleryDecimal) return ["decimal", value.value];
  if (value instanceof Uint8Array) return ["bytes", Buffer.from(value).toString("hex")];
  if (Array.isArray(value)) return ["list", value.map(expected)];
  const entries = Object.entries(value as object).filter(([, v]) => v !== undefined);
  return ["dict", entries.map(([k, v]) => [["str", k], expected(v)])];
}

let python: ChildProcessWithoutNullStreams;
let answers: AsyncIterator<string>;

async function unpickle(bytes: Buffer): Promise<Typed> {
  python.stdin.write(`${bytes.toString("hex")}\n`);
  const next = await answers.next();
  if (next.done) throw new Error("python3 exited early");
  return JSON.parse(next.value) as Typed;
}

beforeAll(() => {
  python = spawn("python3", ["-c", PY], { stdio: ["pipe", "pipe", "pipe"] });
  answers = createInterface({ input: python.stdout })[Symbol.asyncIterator]();
});
afterAll(() => {
  python.stdin.end();
});

// Strings with any code point, including lone surrogates (pickle keeps them via surrogatepass).
const anyString = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)) }),
  fc.string(),
);
const number = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1),
);
const bigint = fc.oneof(fc.bigInt(), fc.bigInt({ min: -(2n ** 3000n), max: 2n ** 3000n }));
const { value: pickleable } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    bigint,
    anyString,
    fc.array(tie("value")),
    fc.dictionary(anyString, tie("value")),
  ),
}));

describe("encodePickle", () => {
  it("round-trips arbitrary JSON-like values through python3 pickle.loads", async () => {
    await fc.assert(
      fc.asyncProperty(pickleable, async (value) => {
        expect(await unpickle(encodePickle(value))).toEqual(expected(value));
      }),
      { numRuns: 400 },
    );
  });

  it("round-trips fast-check's own JSON values", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        expect(await unpickle(encodePickle(value))).toEqual(expected(value));
      }),
      { numRuns: 200 },
    );
  });

  it("round-trips the value model the decoder produces: datetime, date, time, Decimal, bytes", async () => {
    const celeryValue = fc.oneof(
      pythonDate,
      celeryDate,
      celeryTime,
      celeryDecimal,
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    );
    await fc.assert(
      fc.asyncProperty(celeryValue, async (value) => {
        expect(await unpickle(encodePickle(value))).toEqual(expected(value));
      }),
      { numRuns: 300 },
    );
    // And nested anywhere a decoded message may hold them.
    await fc.assert(
      fc.asyncProperty(kombuValue, async (value) => {
        expect(await unpickle(encodePickle(value))).toEqual(expected(value));
      }),
      { numRuns: 200 },
    );
    expect(await unpickle(encodePickle(new CeleryTime("23:59:59.000001-05:30")))).toEqual([
      "time",
      "23:59:59.000001-05:30",
    ]);
    expect(await unpickle(encodePickle(Buffer.alloc(0)))).toEqual(["bytes", ""]);
  });

  it("leaves out undefined properties and turns undefined list items into None, like JSON", async () => {
    const value = { a: undefined, b: [undefined, 1] };
    expect(await unpickle(encodePickle(value))).toEqual([
      "dict",
      [
        [
          ["str", "b"],
          ["list", [["none"], ["int", "1"]]],
        ],
      ],
    ]);
  });

  it("uses the smallest integer opcodes Python itself would use", () => {
    expect(encodePickle(5)).toEqual(Buffer.from([0x80, 2, 0x4b, 5, 0x2e]));
    expect(encodePickle(-1)).toEqual(Buffer.from([0x80, 2, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x2e]));
    expect(encodePickle(2n ** 31n)).toEqual(Buffer.from([0x80, 2, 0x8a, 5, 0, 0, 0, 0x80, 0, 0x2e]));
  });

  it("refuses values outside the value model, naming where they are", () => {
    for (const bad of [{ at: new Date(Number.NaN) }, { n: Number.NaN }, { f: () => 1 }, new Map()]) {
      let caught: unknown;
      try {
        encodePickle(bad);
      } catch (error) {
        caught = error;
      }
      expect(isToolboxError(caught, "MESSAGE_NOT_SERIALIZABLE")).toBe(true);
    }
    expect(() => encodePickle({ at: new Date(Number.NaN) })).toThrow(/\$\.at.*Date is invalid/);
    expect(() => encodePickle({ m: new Map() })).toThrow(/\$\.m.*Map/);
  });
});

describe("celeryExceptionPickle", () => {
  it("pickles the {exc_type, exc_message, exc_module} dict Celery rebuilds exceptions from", async () => {
    expect(await unpickle(celeryExceptionPickle("ValueError", "boom", "builtins"))).toEqual([
      "dict",
      [
        [
          ["str", "exc_type"],
          ["str", "ValueError"],
        ],
        [
          ["str", "exc_message"],
          ["list", [["str", "boom"]]],
        ],
        [
          ["str", "exc_module"],
          ["str", "builtins"],
        ],
      ],
    ]);
  });
});

describe("toJsonText", () => {
  it("agrees with JSON.stringify on plain JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        fc.pre(!JSON.stringify(value).includes("\\u0000"));
        // Re-stringify both sides: toJsonText keeps -0 as -0.0, JSON.stringify prints 0.
        expect(JSON.stringify(JSON.parse(toJsonText(value)))).toBe(JSON.stringify(value));
      }),
    );
  });

  it("writes bigints as exact numbers and puts U+FFFD where jsonb cannot hold a character", () => {
    expect(toJsonText({ n: 2n ** 70n })).toBe('{"n":1180591620717411303424}');
    expect(toJsonText({ s: "a\u0000b" })).toBe('{"s":"a\ufffdb"}');
    expect(toJsonText(["\ud800", "\ud83d\ude00", "x\udc00"])).toBe('["\ufffd","\ud83d\ude00","x\ufffd"]');
    expect(() => toJsonText({ m: new Map() })).toThrow(/\$\.m.*Map/);
  });

  it("writes the value model as Kombu's markers, which revive to the same values", () => {
    fc.assert(
      fc.property(kombuValue, (value) => {
        const stored = JSON.parse(toJsonText(value));
        expect(reviveMarkers(stored)).toEqual(withoutJsonbGaps(value));
      }),
      { numRuns: 500 },
    );
    expect(toJsonText([new CeleryDecimal("1.10"), new Date("2024-05-01T03:03:41.415Z")])).toBe(
      '[{"__type__":"decimal","__value__":"1.10"},{"__type__":"datetime","__value__":"2024-05-01T03:03:41.415000+00:00"}]',
    );
  });
});

/** What jsonb keeps of a value: strings with U+0000 or lone surrogates get U+FFFD. */
function withoutJsonbGaps(value: unknown): unknown {
  if (typeof value === "string") return jsonbString(value);
  if (Array.isArray(value)) return value.map(withoutJsonbGaps);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [jsonbString(k), withoutJsonbGaps(v)]));
  }
  return value;
}
