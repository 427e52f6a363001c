import { chain, immutable, partial, signature } from "@worker-toolbox/runtime";
import { it } from "vitest";
import { describeCaseGroup, requireWorker } from "./caseGroup.js";
import { ConformanceFailure } from "./failure.js";
import type { ConformanceRun } from "./run.js";
import { FAIL_BUDGET_MS } from "./synthetic.js";

const CANVAS_FIX =
  "start the worker with createWorker: after a task's row is committed it publishes the chain's next step, " +
  "its link callbacks and, on failure, its link_error errbacks, then acks (Celery's canvas, docs/interop.md)";

/**
 * Celery's canvas on the service's worker, with the suite's probe task (it records each call): a chain's
 * second step runs with the first as its parent, and a failed task's errback runs with the failed task's id.
 */
export function registerCanvasCases(run: ConformanceRun): void {
  const caseMs = run.resultTimeoutMs * 2 + run.startTimeoutMs + 15_000;

  describeCaseGroup("workflows (Celery canvas)", run, () => {
    it(
      "runs a chain: the worker sends the next step, with the first as its parent and root",
      async (ctx) => {
        await requireWorker(run, ctx);
        const { probe } = run.synthetic;
        const token = run.synthetic.newToken();
        const producer = await run.producer();
        const receipt = await producer.apply(chain(signature(probe, [token]), immutable(probe, [token])));
        const [first, second] = receipt.ids as [string, string];
        const row = await run.finalRow(second);
        const calls = run.synthetic.callsOf(token).map((call) => call.taskId);
        if (row?.status !== "SUCCESS" || calls.join() !== [first, second].join()) {
          throw new ConformanceFailure(
            `The chain's second step ${second} ended ${row?.status ?? "PENDING"}; the probe ran for ` +
              `[${calls.join(", ")}], not [${first}, ${second}].`,
            CANVAS_FIX,
          );
        }
        if (row.result?.parentId !== first || row.result.rootId !== first) {
          throw new ConformanceFailure(
            `The chain's second step names parent ${row.result?.parentId} and root ${row.result?.rootId}, not ${first}.`,
            CANVAS_FIX,
          );
        }
      },
      caseMs,
    );

    it(
      "calls a failed task's link_error errback with the failed task's id",
      async (ctx) => {
        await requireWorker(run, ctx);
        const { fail, probe } = run.synthetic;
        const producer = await run.producer();
        const receipt = await producer.apply(
          signature(fail, [run.synthetic.newToken()]).linkError(partial(probe, [])),
        );
        await run.finalRow(receipt.id, run.resultTimeoutMs + FAIL_BUDGET_MS);
        const deadline = Date.now() + run.resultTimeoutMs;
        while (run.synthetic.callsOf(receipt.id).length === 0 && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        if (run.synthetic.callsOf(receipt.id).length === 0) {
          throw new ConformanceFailure(
            `The errback of ${receipt.id} never ran with its id after the task failed.`,
            CANVAS_FIX,
          );
        }
      },
      caseMs,
    );
  });
}
