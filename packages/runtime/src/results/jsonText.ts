import { ToolboxError } from "@worker-toolbox/config";
import { kombuMarker, reviveMarkers } from "../protocol/kombuJson.js";
import { hasLoneSurrogate, isPlainObject } from "./pickle.js";

/**
 * JSON text for a jsonb column, in the one value model the decoder produces (protocol/kombuJson.ts):
 * plain JSON, bigints as exact JSON numbers, and the Kombu types (Date, CeleryDate, CeleryTime,
 * CeleryDecimal, bytes) as the `{"__type__", "__value__"}` markers Kombu writes for them, so a stored
 * value reads back (`reviveMarkers`) as the value that was received or returned.
 *
 * jsonb cannot hold U+0000 or an unpaired UTF-16 surrogate: in a string they become U+FFFD in this
 * readable copy (bytes holding a NUL are written with Kombu's base64 marker instead, so they stay exact),
 * and jsonb's numeric has no -0.
 * The exact value is kept where Celery keeps it: the pickled `result` and the Kombu JSON bytes of the
 * `args`/`kwargs` columns.
 */
export function toJsonText(value: unknown, path = "$"): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value)) throw unstorable(path, `${value} is not a JSON number`);
      return Object.is(value, -0) ? "-0.0" : JSON.stringify(value);
    case "string":
      return jsonString(value);
    case "object":
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => toJsonText(v, `${path}[${i}]`)).join(",")}]`;
      }
      if (isPlainObject(value)) {
        const parts = Object.entries(value)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${jsonString(k)}:${toJsonText(v, `${path}.${k}`)}`);
        return `{${parts.join(",")}}`;
      }
      return markerText(value, path);
    default:
      throw unstorable(path, `a ${typeof value} cannot be stored`);
  }
}

/**
 * A jsonb value as stored by `toJsonText`, read back into the value model (markers become Date,
 * CeleryDecimal, Buffer…). A marker this version cannot read (written by something else) is left as the
 * plain object it is.
 */
export function fromJsonb(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  try {
    return reviveMarkers(value);
  } catch {
    return value;
  }
}

function markerText(value: object, path: string): string {
  let typed: [string, string] | undefined;
  try {
    typed = kombuMarker(value, () => path);
  } catch (error) {
    throw unstorable(path, (error as Error).message);
  }
  if (!typed) {
    throw unstorable(
      path,
      `a ${value.constructor?.name ?? "object"} instance is not a value the toolbox stores`,
    );
  }
  // Bytes holding a NUL go as base64 (Kombu reads either), so jsonb keeps them exactly.
  if (typed[0] === "bytes" && typed[1].includes("\u0000"))
    typed = ["base64", Buffer.from(typed[1]).toString("base64")];
  return `{"__type__":${jsonString(typed[0])},"__value__":${jsonString(typed[1])}}`;
}

const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A string as jsonb can hold it: U+0000 and unpaired surrogates become U+FFFD. */
export function jsonbString(s: string): string {
  // Test first: almost every string holds neither, and the replace would copy it.
  if (!s.includes("\u0000") && !hasLoneSurrogate(s)) return s;
  return s.replaceAll("\u0000", "\ufffd").replace(LONE_SURROGATES, "\ufffd");
}

const jsonString = (s: string) => JSON.stringify(jsonbString(s));

function unstorable(path: string, why: string): ToolboxError {
  return new ToolboxError("MESSAGE_NOT_SERIALIZABLE", `Cannot store the value at ${path}: ${why}.`, {
    hint:
      "Return JSON-like values (null, booleans, numbers, bigints, strings, arrays, plain objects) or the " +
      "Celery types (Date, CeleryDate, CeleryTime, CeleryDecimal, Buffer).",
  });
}
