/**
 * Python values that JSON has no type for, as Kombu's JSON serializer carries them
 * (`{"__type__": "date"|"time"|"decimal", "__value__": "..."}`). Each wrapper holds the exact text
 * Python's `isoformat()`/`str()` writes, so nothing is lost in a round trip (a decimal never becomes a float).
 */
import { ToolboxError } from "@worker-toolbox/config";

function invalid(kind: string, value: string, expected: string): ToolboxError {
  return new ToolboxError("MESSAGE_INVALID", `${kind}: ${JSON.stringify(value)} is not ${expected}.`);
}

/** A Python `datetime.date`, e.g. `2024-05-01`. */
export class CeleryDate {
  readonly value: string;
  constructor(value: string) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    const probe = m ? new Date(`${value}T00:00:00Z`) : undefined;
    if (
      !m ||
      !probe ||
      Number.isNaN(probe.getTime()) ||
      probe.getUTCDate() !== Number(m[3]) ||
      m[1] === "0000"
    ) {
      throw invalid("CeleryDate", value, "a calendar date YYYY-MM-DD");
    }
    this.value = value;
  }
  /** The UTC calendar date of a Date. */
  static fromDate(date: Date): CeleryDate {
    return new CeleryDate(date.toISOString().slice(0, 10));
  }
  toString(): string {
    return this.value;
  }
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{6})?([+-]([01]\d|2[0-3]):[0-5]\d)?$/;

/** A Python `datetime.time` in `isoformat()` form: `HH:MM:SS[.ffffff][±HH:MM]`. */
export class CeleryTime {
  readonly value: string;
  constructor(value: string) {
    if (!TIME.test(value)) throw invalid("CeleryTime", value, "a time HH:MM:SS[.ffffff][+HH:MM]");
    // Canonical as Python's isoformat() writes it: no zero fraction, UTC as +00:00.
    this.value = value.replace(".000000", "").replace(/-00:00$/, "+00:00");
  }
  toString(): string {
    return this.value;
  }
}

const DECIMAL = /^([+-]?)(?:(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?|(inf|infinity)|(s?nan)(\d*))$/i;

/** Python's `str(Decimal(text))`: the "to-scientific-string" rule of the decimal spec. */
function pythonDecimalText(text: string): string | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const [, sign = "", whole = "", fraction = "", exponent = "0", infinity, nan, payload = ""] = m;
  const minus = sign === "-" ? "-" : "";
  if (infinity) return `${minus}Infinity`;
  if (nan) return `${minus}${nan.toLowerCase() === "snan" ? "sNaN" : "NaN"}${payload.replace(/^0+/, "")}`;
  if (whole === "" && fraction === "") return undefined;
  const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, "");
  const exp = Number(exponent) - fraction.length;
  const leftDigits = exp + digits.length;
  const dot = exp <= 0 && leftDigits > -6 ? leftDigits : 1;
  const body =
    dot <= 0
      ? `0.${"0".repeat(-dot)}${digits}`
      : dot >= digits.length
        ? digits + "0".repeat(dot - digits.length)
        : `${digits.slice(0, dot)}.${digits.slice(dot)}`;
  const e = leftDigits === dot ? "" : `E${leftDigits - dot >= 0 ? "+" : "-"}${Math.abs(leftDigits - dot)}`;
  return `${minus}${body}${e}`;
}

/**
 * A Python `decimal.Decimal`, kept as text and never as a float. `value` is the text Python's
 * `str()` gives (what Kombu sends): `"1.10"` stays `"1.10"`, `"0.0000003"` becomes `"3E-7"`.
 */
export class CeleryDecimal {
  readonly value: string;
  constructor(text: string) {
    const value = pythonDecimalText(text);
    if (value === undefined) throw invalid("CeleryDecimal", text, "a decimal number such as 1.10");
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}
