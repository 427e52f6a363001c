const PER_UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3_600 };

/**
 * Celery's rate string (celery.utils.time.rate): a number of runs a second, or `N/s`, `N/m`, `N/h`; 0, empty
 * or null lifts the limit. Returns runs a second; throws a RangeError naming the problem otherwise. Read by
 * `defineTask({ rateLimit })` and by remote control's `rate_limit`.
 */
export function parseCeleryRate(value: unknown): number {
  if (value === null || value === undefined || value === "") return 0;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === "string") {
    const [count, unit = "s", ...rest] = value.trim().split("/");
    const perUnit = PER_UNIT_S[unit.trim()];
    const n = Number(count);
    if (rest.length === 0 && perUnit !== undefined && count?.trim() !== "" && Number.isFinite(n) && n >= 0)
      return n / perUnit;
  }
  throw new RangeError(
    `${JSON.stringify(value)} is not a rate: use a number of runs a second, or N/s, N/m or N/h (e.g. 10/m)`,
  );
}
