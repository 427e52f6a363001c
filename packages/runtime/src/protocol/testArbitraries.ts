/** fast-check arbitraries for the protocol tests (not exported from the package). */
import { isToolboxError } from "@worker-toolbox/config";
import fc from "fast-check";
import { throughAmqp } from "./amqpHeaders.testUtil.js";
import { CELERY_HEADERS, type TaskMessage } from "./celeryMessage.js";
import { decodeTaskMessage } from "./decodeTaskMessage.js";
import { encodeTaskMessage } from "./encodeTaskMessage.js";
import { CeleryDate, CeleryDecimal, CeleryTime } from "./values.js";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

export const pythonDate = fc.date({
  min: new Date("0001-01-01T00:00:00.000Z"),
  max: new Date("9999-12-31T23:59:59.999Z"),
  noInvalidDate: true,
});

export const celeryDate = pythonDate.map((d) => CeleryDate.fromDate(d));

export const celeryTime = fc
  .tuple(
    fc.nat(23),
    fc.nat(59),
    fc.nat(59),
    fc.option(fc.integer({ min: 1, max: 999_999 })),
    fc.option(fc.integer({ min: -23 * 60, max: 23 * 60 })),
  )
  .map(([h, m, s, us, offset]) => {
    const fraction = us === null ? "" : `.${pad(us, 6)}`;
    const tz =
      offset === null
        ? ""
        : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
    return new CeleryTime(`${pad(h)}:${pad(m)}:${pad(s)}${fraction}${tz === "-00:00" ? "+00:00" : tz}`);
  });

/** Decimals written any way Python's Decimal() accepts (the wrapper canonicalises like str(Decimal)). */
export const celeryDecimal = fc
  .tuple(
    fc.constantFrom("", "-", "+"),
    fc.bigInt({ min: 0n, max: 10n ** 30n }),
    fc.nat(8),
    fc.option(fc.integer({ min: -30, max: 30 })),
  )
  .map(([sign, digits, scale, exponent]) => {
    const text = digits.toString().padStart(scale + 1, "0");
    const body = scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`;
    return new CeleryDecimal(`${sign}${body}${exponent === null ? "" : `e${exponent}`}`);
  });

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)) }),
);

const leaf = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  pythonDate,
  celeryDate,
  celeryTime,
  celeryDecimal,
  fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
  fc.string({ unit: "binary" }).map((s) => Buffer.from(s, "utf8")),
);

const notMarker = (o: Record<string, unknown>) =>
  !(Object.keys(o).length === 2 && "__type__" in o && "__value__" in o);

/** Any value encodeJson accepts and decodeJson gives back equal. */
export const kombuValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(text, tie("value"), { maxKeys: 5, noNullPrototype: true }).filter(notMarker),
  ),
})).value;

export const kombuArgs = fc.array(kombuValue, { maxLength: 5 });
export const kombuKwargs = fc
  .dictionary(fc.string(), kombuValue, { maxKeys: 5, noNullPrototype: true })
  .filter(notMarker) as fc.Arbitrary<Record<string, unknown>>;

/** Values amqplib's field tables carry intact (what a header may hold after the broker round trip). */
export const headerValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "binary" }),
    fc.integer(),
    fc.maxSafeInteger(),
    fc
      .double({ noNaN: true, noDefaultInfinity: true })
      .filter((d) => !Object.is(d, -0) && (Number.isSafeInteger(d) || Math.abs(d) < 2 ** 50)),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(
      fc.string({ minLength: 1, maxLength: 10 }).filter((k) => k !== "!"),
      tie("v"),
      { maxKeys: 3, noNullPrototype: true },
    ),
  ),
})).v;

const reserved = new Set<string>(CELERY_HEADERS);
const optionalId = fc.option(fc.uuid());

/** Any message encodeTaskMessage accepts. */
export const taskMessage: fc.Arbitrary<TaskMessage> = fc.record({
  id: fc.uuid(),
  task: fc.stringMatching(/^[a-z]{1,8}(\.[a-z_]{1,8}){1,2}$/),
  args: kombuArgs,
  kwargs: kombuKwargs,
  retries: fc.nat(),
  eta: fc.option(pythonDate),
  expires: fc.option(pythonDate),
  rootId: fc.uuid(),
  parentId: optionalId,
  group: optionalId,
  groupIndex: fc.option(fc.nat()),
  timeLimit: fc.record({
    hard: fc.option(fc.nat()),
    soft: fc.option(fc.double({ min: 0, max: 1e9, noNaN: true })),
  }),
  shadow: fc.option(fc.string()),
  origin: fc.string({ unit: "binary" }),
  ignoreResult: fc.boolean(),
  priority: fc.nat(255),
  embed: fc.record({
    callbacks: fc.option(kombuArgs),
    errbacks: fc.option(kombuArgs),
    chain: fc.option(kombuArgs),
    chord: fc.option(kombuValue).map((v) => v ?? null),
  }),
  extraHeaders: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !reserved.has(k) && k !== "__proto__"),
    headerValue,
    { maxKeys: 4, noNullPrototype: true },
  ),
});

/** Decodable messages, as they arrive: any message we encode, with ids and retry counts of any size. */
const encoded = fc
  .tuple(
    taskMessage,
    fc.oneof(fc.uuid(), fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 })),
    fc.oneof(fc.nat(), fc.maxSafeInteger().map(Math.abs)),
  )
  .map(([msg, id, retries]) => {
    const { content, properties } = encodeTaskMessage({ ...msg, id, retries });
    return { content, properties: { ...properties, headers: throughAmqp(properties.headers) } };
  });

/** JSON text a hand-made (or hostile) producer may send: escapes jsonb refuses, huge numbers, markers. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(
      '"a\\u0000b"',
      '"\\ud800"',
      '"\\udc00x"',
      '"\\ud83d\\ude00"',
      "1e400",
      "-1e400",
      "-0",
      "1e-400",
    ),
    fc.constantFrom(
      '{"__type__": "decimal", "__value__": "1.10"}',
      '{"__type__": "datetime", "__value__": "2024-05-01T03:03:41.415123"}',
      '{"__type__": "bytes", "__value__": "\\u0000\\u00ff"}',
      '{"__type__": "base64", "__value__": "AP8="}',
      '{"__type__": "time", "__value__": "23:59:59.000001+05:30"}',
      '{"__type__": "date", "__value__": "0001-01-01"}',
      '{"__type__": "nope", "__value__": 1}',
    ),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.array(tie("v"), { maxLength: 4 }).map((items) => `[${items.join(", ")}]`),
    fc
      .array(fc.tuple(fc.string(), tie("v")), { maxLength: 3 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(", ")}}`),
  ),
})).v;

const handMade = fc
  .tuple(fc.array(jsonText, { maxLength: 4 }), fc.array(fc.tuple(fc.string(), jsonText), { maxLength: 3 }))
  .map(([args, kwargs]) => ({
    content: Buffer.from(
      `[[${args.join(", ")}], {${kwargs.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(", ")}}, null]`,
    ),
    properties: { contentType: "application/json", headers: { task: "svc.task", id: "id-1" } },
  }));

/** Raw deliveries (content and properties after the AMQP round trip) of both kinds. */
export const arrivingMessage = { encoded, handMade };

/** The decoded message, or undefined when the decoder refuses it (MESSAGE_MALFORMED); any other error throws. */
export function decodedOrRefused(raw: { content: Buffer; properties: object }): TaskMessage | undefined {
  try {
    return decodeTaskMessage(raw.content, raw.properties);
  } catch (error) {
    if (!isToolboxError(error, "MESSAGE_MALFORMED")) throw error;
    return undefined;
  }
}
