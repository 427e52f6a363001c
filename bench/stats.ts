/** Small statistics shared by the benchmarks. */

/** One decimal place, for reported figures. */
export const round = (n: number) => Math.round(n * 10) / 10;

/** The median (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * One row per pipeline, in `pipelines` order, each figure the median over that pipeline's rounds: to one
 * decimal place, or to a whole number for the fields in `whole`.
 */
export function medianRows<Row extends { pipeline: string }>(
  runs: readonly Row[],
  pipelines: readonly Row["pipeline"][],
  whole: readonly (keyof Row)[] = [],
): Row[] {
  return pipelines.map((pipeline) => {
    const of = runs.filter((run) => run.pipeline === pipeline);
    const row: Record<string, unknown> = { pipeline };
    for (const key of Object.keys(of[0] ?? {}) as (keyof Row & string)[]) {
      if (key === "pipeline") continue;
      const value = median(of.map((run) => run[key] as number));
      row[key] = whole.includes(key) ? Math.round(value) : round(value);
    }
    return row as Row;
  });
}
