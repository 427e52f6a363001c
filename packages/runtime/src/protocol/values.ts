/**
 * Python values that JSON has no type for, as Kombu's JSON serializer carries them
 * (`{"__type__": "date"|"time"|"decimal", "__value__": "..."}`). Each wrapper holds the exact text
 * Python's `isoformat()`/`str()` writes, so nothing is lost in a round trip (a decimal never becomes a float).
 */

function invalid(kind: string, value: string, expected: string): TypeError {
  return new TypeError(`${kind}: ${JSON.stringify(value)} is not ${expected}`);
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

// What `str(decimal.Decimal(...))` can produce, including its special values.
const DECIMAL = /^[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|Infinity|Inf|NaN\d*|sNaN\d*)$/;

/** A Python `decimal.Decimal`, kept as its exact text (`"1.10"` stays `"1.10"`). */
export class CeleryDecimal {
  readonly value: string;
  constructor(value: string) {
    if (!DECIMAL.test(value)) throw invalid("CeleryDecimal", value, "a decimal number such as 1.10");
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}
