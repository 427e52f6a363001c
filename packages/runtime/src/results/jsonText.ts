import { ToolboxError } from "@worker-toolbox/config";
import { hasLoneSurrogate, isPlainObject } from "./pickle.js";

/**
 * JSON text for a jsonb column, following the same rules as the pickle encoder so `result` and
 * `result_json` always hold the same value: bigints become exact JSON numbers, and strings jsonb
 * cannot store (NUL, lone surrogates) are refused up front instead of failing a whole batch.
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
      return jsonString(value, path);
    case "object":
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => toJsonText(v, `${path}[${i}]`)).join(",")}]`;
      }
      if (isPlainObject(value)) {
        const parts = Object.entries(value)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${jsonString(k, path)}:${toJsonText(v, `${path}.${k}`)}`);
        return `{${parts.join(",")}}`;
      }
      throw unstorable(path, "only plain objects and arrays can be stored");
    default:
      throw unstorable(path, `a ${typeof value} cannot be stored`);
  }
}

function jsonString(s: string, path: string): string {
  if (s.includes("\u0000"))
    throw unstorable(path, "PostgreSQL jsonb cannot store the NUL character (\\u0000)");
  if (hasLoneSurrogate(s)) throw unstorable(path, "the string contains a lone UTF-16 surrogate");
  return JSON.stringify(s);
}

function unstorable(path: string, why: string): ToolboxError {
  return new ToolboxError("MESSAGE_NOT_SERIALIZABLE", `Cannot store the value at ${path}: ${why}.`, {
    hint: "Return JSON-like values (null, booleans, numbers, bigints, strings, arrays, plain objects).",
  });
}
