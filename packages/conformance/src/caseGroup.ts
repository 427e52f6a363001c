import { beforeAll, describe, type TestContext } from "vitest";
import type { ConformanceRun } from "./run.js";

/** Preparing a run starts servers on a cold machine and creates a database: minutes, not the case timeout. */
const PREPARE_MS = 180_000;

/** One describe block of cases; the run is prepared before its first case. */
export function describeCaseGroup(title: string, run: ConformanceRun, register: () => void): void {
  describe(title, () => {
    beforeAll(() => run.prepare(), PREPARE_MS);
    register();
  });
}

/** Skip a case that needs a running worker when it did not start (the start case carries the error). */
export async function requireWorker(run: ConformanceRun, ctx: TestContext): Promise<void> {
  const outcome = await run.startWorker();
  if (!outcome.ok) ctx.skip("the worker did not start (see the case 'starts the worker ...')");
}
