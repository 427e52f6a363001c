/**
 * ISO-8601 datetimes as Python's `datetime.isoformat()` writes them and `fromisoformat()` reads them.
 * Celery puts these in the `eta`/`expires` headers and Kombu in its `datetime` marker.
 */

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Python's range for `datetime.year`; a JS Date outside it cannot be read by a Celery worker. */
export function isPythonYear(date: Date): boolean {
  const year = date.getUTCFullYear();
  return year >= 1 && year <= 9999;
}

/**
 * `2024-05-01T03:03:41.415000+00:00`: always UTC with an explicit offset (an aware datetime), and
 * like Python the fraction is six digits, or absent when it is zero.
 */
export function formatIsoDateTime(date: Date): string {
  const ms = date.getUTCMilliseconds();
  const fraction = ms === 0 ? "" : `.${pad(ms, 3)}000`;
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction}+00:00`
  );
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses what Celery and Kombu write (and what `fromisoformat` accepts in practice): seconds and fraction
 * optional, `Z` or `±HH[:MM]` offset; a naive value is taken as UTC (Celery's default `enable_utc`).
 * Sub-millisecond digits are dropped: a JS Date holds milliseconds. Returns undefined when invalid.
 */
export function parseIsoDateTime(text: string): Date | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = Number(m[6] ?? "0");
  const ms = Number((m[7] ?? "").slice(0, 3).padEnd(3, "0"));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, ms);
  // Date normalises 31 April to 1 May; Python rejects it, and so do we.
  if (utc.getUTCDate() !== day || year < 1) return undefined;
  const offset = m[8];
  if (offset && offset !== "Z" && offset !== "z") {
    const digits = offset.slice(1).replace(":", "");
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0");
    if (Number(digits.slice(2) || "0") > 59 || minutes >= 24 * 60) return undefined;
    utc.setTime(utc.getTime() - (offset[0] === "-" ? -1 : 1) * minutes * 60_000);
  }
  return utc;
}
