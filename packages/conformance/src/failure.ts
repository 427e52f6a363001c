import { ToolboxError } from "@worker-toolbox/config";

/**
 * A failed case. The message says what is wrong with the service, the `fix:` line what its owner changes.
 * Thrown from inside a test, so vitest shows both as the failure.
 */
export class ConformanceFailure extends ToolboxError {
  constructor(problem: string, fix: string, options: { cause?: unknown } = {}) {
    super("CONFORMANCE_FAILED", problem, { hint: fix, ...options });
  }
}

/** Fail the current case unless `problems` is empty; lists every problem at once. */
export function failIfAny(problems: readonly string[], summary: string, fix: string): void {
  if (problems.length === 0) return;
  throw new ConformanceFailure(`${summary}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`, fix);
}

/** The first line of an error's message (ToolboxError messages carry a `fix:` line of their own). */
export function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0] ?? "";
}
