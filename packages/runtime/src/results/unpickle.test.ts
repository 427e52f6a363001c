import { spawnSync } from "node:child_process";
import { isToolboxError } from "@worker-toolbox/config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CeleryDate, CeleryDecimal, CeleryTime } from "../protocol/values.js";
import { celeryExceptionPickle, encodePickle } from "./pickle.js";
import { decodePickle } from "./unpickle.js";

/**
 * Python pickles values with every protocol Celery's database backend may use (SQLAlchemy's PickleType
 * uses the highest: 5), and the reader must return what Python held. Values go to Python as JSON with
 * big integers as {"$big": "..."}; one Python run per property batch keeps this fast.
 */
const PY = `
import sys, json, pickle
def build(x):
    if isinstance(x, dict):
        if set(x) == {"$big"}: return int(x["$big"])
        return {k: build(v) for k, v in x.items()}
    if isinstance(x, list): return [build(v) for v in x]
    return x
values = json.loads(sys.stdin.read())
print(json.dumps([[pickle.dumps(build(v), protocol=p).hex() for p in (2, 3, 4, 5)] for v in values]))
`;

function pickledByPython(values: unknown[], script = PY): string[][] {
  const run = spawnSync("python3", ["-c", script], {
    input: JSON.stringify(values, (_, v) => (typeof v === "bigint" ? { $big: v.toString() } : v)),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as string[][];
}

/** What the reader returns for a value that went through JSON to Python. */
function expected(value: unknown): unknown {
  // JSON.stringify writes integral doubles below 1e21 as digits, which Python reads as an int.
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value))
    return Math.abs(value) < 1e21 ? BigInt(value) : value;
  if (typeof value === "number" && Object.is(value, -0)) return 0;
  if (typeof value === "bigint")
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  if (Array.isArray(value)) return value.map(expected);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expected(v)]));
  return value;
}

const jsonLike = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: "grapheme", maxLength: 300 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "grapheme" }), tie("value"), { maxKeys: 5 }),
  ),
})).value;

describe("decodePickle", () => {
  it("reads what Python pickles with protocols 2 to 5", () => {
    const values = fc.sample(jsonLike, { numRuns: 300, seed: 14 });
    const pickles = pickledByPython(values);
    values.forEach((value, i) => {
      for (const hex of pickles[i]!) expect(decodePickle(Buffer.from(hex, "hex"))).toEqual(expected(value));
    });
  });

  it("reads shared references (memo), long strings and lists past a frame", () => {
    const shared = { id: "x".repeat(70_000) };
    const value = { a: shared, b: shared, list: Array.from({ length: 2_000 }, (_, i) => i * 1_000_003) };
    for (const hex of pickledByPython([value])[0]!) {
      expect(decodePickle(Buffer.from(hex, "hex"))).toEqual(value);
    }
  });

  it("reads tuples, sets, bytes, dates, times, decimals and Celery's exception dict", () => {
    const script = String.raw`
import json, pickle, datetime, decimal
utc, plus2 = datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=2, minutes=30))
values = [
    (1, "two", (3.5,)),
    {"ids": {7}, "frozen": frozenset(["a"])},
    b"\x00\xffbytes",
    datetime.datetime(2024, 5, 1, 12, 30, 45, 123456),
    datetime.datetime(2024, 5, 1, 12, 30, 45, 0, tzinfo=utc),
    datetime.datetime(2024, 5, 1, 12, 30, 45, 0, tzinfo=plus2),
    datetime.date(2024, 2, 29),
    datetime.time(8, 5, 9, 10),
    datetime.time(8, 5, 9, tzinfo=plus2),
    decimal.Decimal("1.10"),
    # celery/backends/base.py prepare_exception with the json serializer: the args stay a tuple.
    {"exc_type": "ValueError", "exc_message": ("bad", 2), "exc_module": "builtins"},
    {2: "int key", None: "none key", True: "bool key"},
]
print(json.dumps([[pickle.dumps(v, protocol=p).hex() for p in (2, 3, 4, 5)] for v in values]))
`;
    const wanted = [
      [1, "two", [3.5]],
      { ids: [7], frozen: ["a"] },
      Buffer.from("00ff6279746573", "hex"),
      new Date("2024-05-01T12:30:45.123Z"),
      new Date("2024-05-01T12:30:45Z"),
      new Date("2024-05-01T10:00:45Z"),
      new CeleryDate("2024-02-29"),
      new CeleryTime("08:05:09.000010"),
      new CeleryTime("08:05:09+02:30"),
      new CeleryDecimal("1.10"),
      { exc_type: "ValueError", exc_message: ["bad", 2], exc_module: "builtins" },
      { 2: "int key", null: "none key", true: "bool key" },
    ];
    const pickles = pickledByPython([], script);
    expect(pickles).toHaveLength(wanted.length);
    pickles.forEach((forms, i) => {
      for (const hex of forms) expect(decodePickle(Buffer.from(hex, "hex")), `value ${i}`).toEqual(wanted[i]);
    });
  });

  it("reads back what the toolbox's own writer stores", () => {
    const value = { links: [{ url: "https://x/y" }], n: 3, big: 2n ** 70n, f: 1.5, t: true, none: null };
    expect(decodePickle(encodePickle(value))).toEqual(value);
    expect(decodePickle(celeryExceptionPickle("TaskRevokedError", "expired", "celery.exceptions"))).toEqual({
      exc_type: "TaskRevokedError",
      exc_message: ["expired"],
      exc_module: "celery.exceptions",
    });
  });

  it("refuses objects it would have to construct, and broken streams, with RESULT_UNREADABLE", () => {
    const script = `
import json, pickle, uuid, os
print(json.dumps([[pickle.dumps(v, protocol=p).hex() for p in (2, 5)] for v in [uuid.UUID(int=5), os.stat_result((0,) * 10)]]))
`;
    for (const forms of pickledByPython([], script)) {
      for (const hex of forms) {
        expect(() => decodePickle(Buffer.from(hex, "hex"))).toThrow(
          expect.objectContaining({ code: "RESULT_UNREADABLE" }),
        );
      }
    }
    const truncated = encodePickle({ a: [1, 2, 3] }).subarray(0, 10);
    let error: unknown;
    try {
      decodePickle(truncated);
    } catch (e) {
      error = e;
    }
    expect(isToolboxError(error, "RESULT_UNREADABLE")).toBe(true);
    expect((error as Error).message).toContain("truncated");
    // os.system would be a REDUCE of a global outside the allow-list: refused, never resolved.
    const evil = Buffer.from(
      "800263706f7369780a73797374656d0a710058040000007472756571018571025271032e",
      "hex",
    );
    expect(() => decodePickle(evil)).toThrow(/posix\.system/);
  });
});
