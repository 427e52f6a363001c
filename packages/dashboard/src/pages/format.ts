/** Plain-text formatting for the pages (escaping is JSX's job: every value is rendered as text). */

/** `2026-12-05 10:29:15` in UTC, or `-`. */
export function time(value: Date | string | null | undefined): string {
  if (!value) return "-";
  const date = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return "-";
  return `${date.toISOString().slice(0, 19).replace("T", " ")}`;
}

/** `3 s`, `4 min`, `2 h`, `5 d`. */
export function age(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  const s = Math.max(0, Math.round(ms / 1_000));
  if (s < 120) return `${s} s`;
  if (s < 7_200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3_600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export function since(value: Date | null | undefined, now = Date.now()): string {
  return value ? `${age(now - value.getTime())} ago` : "-";
}

/** One line of JSON, cut at `max` characters. */
export function brief(value: unknown, max = 80): string {
  const text = JSON.stringify(value) ?? "";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "null";
}

export function count(value: number | undefined): string {
  return value === undefined ? "-" : value.toLocaleString("en-US");
}

export function rate(value: number | undefined): string {
  if (value === undefined) return "-";
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}

export function percent(value: number): string {
  return `${(value * 100).toFixed(value > 0 && value < 0.01 ? 2 : 1)}%`;
}
