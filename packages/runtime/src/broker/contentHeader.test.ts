import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { amqplibModule, celeryProperties, celeryTaskId as id } from "./amqplibReference.testUtil.js";
import { decodeBasicProperties, decodeFieldTable } from "./contentHeader.js";

// amqplib's own codec: the reference the decoder must equal.
const defs = amqplibModule("defs");
const codec = amqplibModule("codec");

/** The payload of the content header amqplib writes for these properties, after class, weight and size. */
function encoded(properties: Record<string, unknown>): Buffer {
  const frame: Buffer = defs.encodeProperties(defs.BasicProperties, 1, 0, properties);
  // Frame type, channel, size (7 bytes), class, weight, body size (12), ... frame end.
  return frame.subarray(7 + 12, frame.length - 1);
}

/** What amqplib decodes, or the kind of error it throws. */
function amqplibDecodes(payload: Buffer): unknown {
  try {
    return defs.decode(defs.BasicProperties, payload);
  } catch (error) {
    return { threw: (error as Error).constructor.name };
  }
}

function oursDecodes(payload: Buffer): unknown {
  try {
    return decodeBasicProperties(payload);
  } catch (error) {
    return { threw: (error as Error).constructor.name };
  }
}

const celery = celeryProperties;

/** A header value of any AMQP field type, as amqplib's encoder takes it (`{'!': type, value}` for most). */
const typed = (type: string, value: fc.Arbitrary<unknown>) => value.map((v) => ({ "!": type, value: v }));
const scalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.constantFrom("py", "svc.task", "{}", id, "application/json"),
  fc.constant(null),
  fc.boolean(),
  typed("int8", fc.integer({ min: -128, max: 127 })),
  typed("uint8", fc.integer({ min: 0, max: 255 })),
  typed("int16", fc.integer({ min: -32768, max: 32767 })),
  typed("uint16", fc.integer({ min: 0, max: 65535 })),
  typed("int32", fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  typed("uint32", fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  typed("int64", fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
  typed("float", fc.float({ noNaN: true })),
  typed("double", fc.double({ noNaN: true })),
  typed("timestamp", fc.integer({ min: 0, max: 2 ** 40 })),
  typed("decimal", fc.record({ places: fc.integer({ min: 0, max: 255 }), digits: fc.nat() })),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
);
// amqplib reads a table with a "!" key as a typed value ({"!": type, value}): it cannot encode such a table.
const headerName = fc
  .string({ unit: "grapheme", maxLength: 20 })
  .filter((k) => k !== "__proto__" && k !== "!");
const { value: headerValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(headerName, tie("value"), { maxKeys: 4 }),
  ),
}));
const shortText = fc.string({ unit: "grapheme", maxLength: 40 });
const properties = fc.record(
  {
    contentType: shortText,
    contentEncoding: shortText,
    headers: fc.dictionary(headerName, headerValue, { maxKeys: 24 }),
    deliveryMode: fc.integer({ min: 0, max: 255 }),
    priority: fc.integer({ min: 0, max: 255 }),
    correlationId: shortText,
    replyTo: shortText,
    expiration: fc.integer({ min: 0, max: 10 ** 9 }).map(String),
    messageId: shortText,
    timestamp: fc.integer({ min: 0, max: 2 ** 40 }),
    type: shortText,
    userId: shortText,
    appId: shortText,
    clusterId: shortText,
  },
  { requiredKeys: [] },
);

describe("decodeBasicProperties", () => {
  it("decodes a Celery message's properties as amqplib does", () => {
    const payload = encoded(celery);
    expect(decodeBasicProperties(payload)).toStrictEqual(defs.decode(defs.BasicProperties, payload));
    expect(decodeBasicProperties(payload).headers).toMatchObject({ task: "svc.task", timelimit: [30, null] });
    // Twice: the second decode takes the names and short values from the cache.
    expect(decodeBasicProperties(payload)).toStrictEqual(defs.decode(defs.BasicProperties, payload));
  });

  it("decodes any properties and header table as amqplib does", () => {
    fc.assert(
      fc.property(properties, (props) => {
        const payload = encoded(props);
        expect(decodeBasicProperties(payload)).toStrictEqual(defs.decode(defs.BasicProperties, payload));
      }),
      { numRuns: 500 },
    );
  });

  it("on corrupted or cut bytes, returns what amqplib returns or throws what it throws", () => {
    const corrupted = properties.chain((props) => {
      const payload = encoded(props);
      return fc.record({
        payload: fc.constant(payload),
        edits: fc.array(fc.tuple(fc.nat(payload.length), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      });
    });
    fc.assert(
      fc.property(corrupted, ({ payload, edits }) => {
        const bytes = Buffer.from(payload);
        for (const [at, byte] of edits) if (at < bytes.length) bytes[at] = byte;
        // The edited bytes cut at every length (a frame may end anywhere in a malformed header).
        for (let cut = bytes.length; cut >= 0; cut--) {
          const input = bytes.subarray(0, cut);
          const theirs = amqplibDecodes(input);
          // amqplib's table assignment turns a `__proto__` header into the prototype: ours keeps it data.
          if (hasProtoKey(theirs)) continue;
          expect(oursDecodes(input)).toStrictEqual(theirs);
        }
      }),
      { numRuns: 30 },
    );
  }, 30_000);

  it("cut anywhere, one property or one header of each type decodes or throws as with amqplib", () => {
    const values: unknown[] = [
      "py",
      null,
      true,
      false,
      ...["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "float", "double", "timestamp"].map(
        (type) => ({ "!": type, value: 7 }),
      ),
      { "!": "decimal", value: { places: 2, digits: 314 } },
      Buffer.from("bytes"),
      [1, "a"],
      { nested: true },
    ];
    const cases = [
      ...Object.entries(celery).map(([name, value]) => ({ [name]: value })),
      ...values.map((value) => ({ headers: { k: value } })),
      ...values.map((value) => ({ headers: { k: value }, priority: 1 })),
      { messageId: "m", timestamp: 5, type: "t", userId: "u", appId: "a", clusterId: "c", replyTo: "r" },
    ];
    for (const props of cases) {
      const payload = encoded(props);
      for (let cut = payload.length; cut >= 0; cut--) {
        const input = payload.subarray(0, cut);
        expect(oursDecodes(input), `${JSON.stringify(props)} cut at ${cut}`).toStrictEqual(
          amqplibDecodes(input),
        );
      }
    }
  });

  it("keeps a __proto__ header as data instead of the table's prototype", () => {
    const table = Buffer.alloc(64);
    const size = codec.encodeTable(table, { x: 1 }, 0);
    // Rename the key x to __proto__ by hand (amqplib's encoder would not write it).
    const body = Buffer.concat([Buffer.from([9]), Buffer.from("__proto__"), table.subarray(4 + 2, size)]);
    const decoded = decodeFieldTable(body);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(decoded, "__proto__")?.value).toBe(1);
  });

  it("decodes tables only amqplib-typed senders write (nested arrays, every tag)", () => {
    const table = { a: [1, [2, "x"], { b: null }], t: { "!": "timestamp", value: 5 }, x: Buffer.from("hi") };
    const buffer = Buffer.alloc(256);
    const size = codec.encodeTable(buffer, table, 0);
    const slice = buffer.subarray(4, size);
    expect(decodeFieldTable(slice)).toStrictEqual(codec.decodeFields(slice));
  });
});

/** Whether an amqplib result has a header table somewhere with a non-default prototype. */
function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (Buffer.isBuffer(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype) return true;
  return Object.values(value).some(hasProtoKey);
}
