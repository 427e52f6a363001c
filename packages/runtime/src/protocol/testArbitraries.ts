/** fast-check arbitraries for the protocol tests (not exported from the package). */
import fc from "fast-check";
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
