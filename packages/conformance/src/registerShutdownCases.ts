import { it, type TestContext } from "vitest";
import { describeCaseGroup, requireWorker } from "./caseGroup.js";
import { ConformanceFailure } from "./failure.js";
import type { ConformanceRun } from "./run.js";
import { sleep, withDeadline } from "./timing.js";

const CLOSE_MS = 45_000;

/** Shutdown: close() (what SIGTERM calls) loses no running task. It closes the worker, so it comes last. */
export function registerShutdownCases(run: ConformanceRun): void {
  const caseMs = run.resultTimeoutMs + run.startTimeoutMs + 15_000;
  describeCaseGroup("shutdown", run, () => {
    it(
      "drains in-flight work on close() (SIGTERM): the running task finishes and its row is stored, or its message returns to the queue",
      (ctx) => checkDrainOnClose(run, ctx),
      caseMs + CLOSE_MS,
    );
  });
}

async function checkDrainOnClose(run: ConformanceRun, ctx: TestContext): Promise<void> {
  await requireWorker(run, ctx);
  const slow = run.synthetic.slow;
  const token = run.synthetic.newToken();
  const producer = await run.producer();
  const { id } = await producer.send(slow, [token] as never);
  const started = await Promise.race([
    run.synthetic.started(token).then(() => true),
    sleep(run.resultTimeoutMs).then(() => false),
  ]);
  if (!started) {
    throw new ConformanceFailure(
      `The worker never started ${slow.name}: ${await run.diagnosis.explainMissingRow(id)}`,
      "startWorker must register every task it is given (the suite adds its own tasks to the service's)",
    );
  }
  const closing = run.closeWorker();
  // The task is still running when close() begins; it finishes shortly after.
  await sleep(200);
  run.synthetic.release(token);
  await withDeadline(closing, CLOSE_MS, "worker.close()").catch((error: Error) => {
    throw new ConformanceFailure(
      `close() did not finish: ${error.message}`,
      "close() must stop consuming, wait for running tasks (up to worker.shutdownGraceMs), store their results and return",
    );
  });
  const row = await run.finalRow(id, 2_000);
  if (row?.status === "SUCCESS") return;
  const queue = await run.diagnosis.queueState(run.serviceQueue);
  if (queue && queue.ready > 0) return; // Returned to the queue: another worker runs it.
  throw new ConformanceFailure(
    `close() returned, but ${slow.name} (running when close() began) has no SUCCESS row ` +
      `(${row ? `status ${row.status}` : "no row"}) and its message is not back in ${run.serviceQueue}: the work is lost.`,
    "on SIGTERM call worker.close(): it stops consuming, lets running tasks finish, stores their results and " +
      "acknowledges only then; unfinished messages must return to the queue",
  );
}
