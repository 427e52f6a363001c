import { isToolboxError } from "@worker-toolbox/config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeJson, encodeJson } from "./kombuJson.js";
import { kombuValue } from "./testArbitraries.js";
import { CeleryDate, CeleryDecimal, CeleryTime } from "./values.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isToolboxError(error) ? error.code : `not a ToolboxError: ${String(error)}`;
  }
  return undefined;
}

describe("encodeJson", () => {
  it("writes json.dumps' layout: ', ' and ': ' separators, non-ASCII escaped", () => {
    expect(encodeJson([["org", "proj"], { output_type: "xls" }, null])).toBe(
      '[["org", "proj"], {"output_type": "xls"}, null]',
    );
    expect(encodeJson('é\n"\u007f😀')).toBe('"\\u00e9\\n\\"\\u007f\\ud83d\\ude00"');
    expect(encodeJson([1, 1.5, 1e-7, 1e16, 1e21, -0])).toBe(
      "[1, 1.5, 1e-07, 10000000000000000, 1e+21, -0.0]",
    );
  }, 60_000);

  it("escapes exactly what Python's ensure_ascii escapes, for every UTF-16 code unit", () => {
    const short: Record<number, string> = {
      8: "\\b",
      9: "\\t",
      10: "\\n",
      12: "\\f",
      13: "\\r",
      34: '\\"',
      92: "\\\\",
    };
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      // json.dumps(chr(c)): printable ASCII as is, except '"' and '\\'; the rest a short or a \u escape.
      const expected = short[c] ?? (c >= 0x20 && c <= 0x7e ? ch : `\\u${c.toString(16).padStart(4, "0")}`);
      const got = encodeJson(`a${ch}b`);
      if (got !== `"a${expected}b"`) expect(got, `U+${c.toString(16)}`).toBe(`"a${expected}b"`);
    }
  });

  it("wraps dates, decimals and bytes in Kombu markers", () => {
    expect(encodeJson(new Date("2026-01-15T03:03:41.415Z"))).toBe(
      '{"__type__": "datetime", "__value__": "2026-01-15T03:03:41.415000+00:00"}',
    );
    expect(encodeJson(new CeleryDate("2026-01-15"))).toBe('{"__type__": "date", "__value__": "2026-01-15"}');
    expect(encodeJson(new CeleryTime("03:03:41.000000"))).toBe(
      '{"__type__": "time", "__value__": "03:03:41"}',
    );
    expect(encodeJson(new CeleryDecimal("1.10"))).toBe('{"__type__": "decimal", "__value__": "1.10"}');
    expect(encodeJson(Buffer.from("héllo"))).toBe('{"__type__": "bytes", "__value__": "h\\u00e9llo"}');
    expect(encodeJson(new Uint8Array([0xff, 0x00]))).toBe('{"__type__": "base64", "__value__": "/wA="}');
  });

  it("drops undefined object properties like JSON.stringify", () => {
    expect(encodeJson({ a: 1, b: undefined })).toBe('{"a": 1}');
  });

  it.each([
    ["a function", { args: [1, () => 1] }, "args[1]"],
    ["a symbol", { x: Symbol("s") }, "$.x"],
    ["a BigInt", [10n], "$[0]"],
    ["NaN", { when: { n: Number.NaN } }, "$.when.n"],
    ["Infinity", [Number.POSITIVE_INFINITY], "$[0]"],
    ["undefined in an array", [1, undefined], "$[1]"],
    ["a Map", { m: new Map() }, "$.m"],
    ["a class instance", { c: new (class Point {})() }, "$.c"],
    ["an invalid Date", { d: new Date(Number.NaN) }, "$.d"],
    ["a Date past year 9999", { d: new Date("+010000-01-01T00:00:00Z") }, "$.d"],
    ["a marker-shaped object", { m: { __type__: "x", __value__: 1 } }, "$.m"],
    ["an odd key", { "my key": [undefined] }, '$["my key"][0]'],
  ])("rejects %s naming its path", (_, value, path) => {
    expect(() => encodeJson(value)).toThrow(expect.objectContaining({ code: "MESSAGE_NOT_SERIALIZABLE" }));
    expect(() => encodeJson(value)).toThrow(path);
  });

  it("rejects cycles but not shared references", () => {
    const shared = { x: 1 };
    expect(encodeJson([shared, shared])).toBe('[{"x": 1}, {"x": 1}]');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeJson({ kw: cyclic }, "kwargs")).toThrow("kwargs.kw.self");
  });
});

describe("decodeJson", () => {
  it("reads every Kombu marker", () => {
    const text =
      '[{"__type__": "datetime", "__value__": "2026-01-15T03:03:41.415080"}, {"__type__": "date", "__value__": "2026-01-15"},' +
      ' {"__type__": "time", "__value__": "03:03:41.415080"}, {"__type__": "decimal", "__value__": "1.10"},' +
      ' {"__type__": "bytes", "__value__": "hi"}, {"__type__": "base64", "__value__": "/wA="},' +
      ' {"__type__": "uuid", "__value__": {"hex": "0F3C2E5A9B8D4C1E8F7A6B5C4D3E2F1A", "version": 4}}]';
    expect(decodeJson(text)).toEqual([
      new Date("2026-01-15T03:03:41.415Z"),
      new CeleryDate("2026-01-15"),
      new CeleryTime("03:03:41.415080"),
      new CeleryDecimal("1.10"),
      Buffer.from("hi"),
      Buffer.from([0xff, 0]),
      "0f3c2e5a-9b8d-4c1e-8f7a-6b5c4d3e2f1a",
    ]);
  });

  it("keeps objects that only look a little like markers, and __proto__ keys as data", () => {
    expect(decodeJson('{"__type__": "datetime", "__value__": "x", "other": 1}')).toEqual({
      __type__: "datetime",
      __value__: "x",
      other: 1,
    });
    const decoded = decodeJson('{"__proto__": {"__type__": "decimal", "__value__": "2"}}') as object;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(decoded, "__proto__")?.value).toEqual(new CeleryDecimal("2"));
  });

  it.each([
    ["not JSON", "[1,"],
    ["an unknown marker", '{"__type__": "pickle", "__value__": "x"}'],
    ["a bad datetime", '{"a": [{"__type__": "datetime", "__value__": "2026-02-30T00:00:00"}]}'],
    ["a bad decimal", '{"__type__": "decimal", "__value__": "1,5"}'],
    ["a bad uuid", '{"__type__": "uuid", "__value__": {"hex": "xyz"}}'],
    ["bad base64", '{"__type__": "base64", "__value__": "!!"}'],
    ["a non-string marker value", '{"__type__": "date", "__value__": 20260115}'],
    ["too deep nesting", `${"[".repeat(600)}${"]".repeat(600)}`],
  ])("rejects %s with MESSAGE_MALFORMED", (_, text) => {
    expect(codeOf(() => decodeJson(text))).toBe("MESSAGE_MALFORMED");
  });

  it("names the path of a bad marker", () => {
    expect(() => decodeJson('{"a": [{"__type__": "nope", "__value__": 1}]}', "body")).toThrow("body.a[0]");
  });
});

describe("round trip", () => {
  it("decodeJson(encodeJson(v)) equals v", () => {
    fc.assert(
      fc.property(kombuValue, (value) => {
        expect(decodeJson(encodeJson(value))).toEqual(value);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it("never throws anything but MESSAGE_MALFORMED on arbitrary text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.json()), (text) => {
        const code = codeOf(() => decodeJson(text));
        expect(code === undefined || code === "MESSAGE_MALFORMED").toBe(true);
      }),
    );
  }, 60_000);
});
