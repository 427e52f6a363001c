import type { AnyTaskContract } from "@worker-toolbox/config";
import type { TaskView } from "@worker-toolbox/runtime";
import { it, type TestContext } from "vitest";
import { describeCaseGroup, requireWorker } from "./caseGroup.js";
import { samplesFor } from "./checks/contractChecks.js";
import { ConformanceFailure } from "./failure.js";
import type { ConformanceRun } from "./run.js";
import type { ConformanceOptions } from "./types.js";

const STORE_FIX =
  "the worker must store each outcome in the result backend before it acknowledges the message " +
  "(createWorker does); startWorker must use the run config as given (database.url is the worker role's) " +
  "and register every task it is given";

/** Round trip: each of the service's tasks sent through the real broker to the real worker and database. */
export function registerRoundTripCases(run: ConformanceRun, options: ConformanceOptions): void {
  const caseMs = run.resultTimeoutMs + run.startTimeoutMs + 15_000;
  describeCaseGroup("round trip", run, () => {
    for (const contract of run.serviceContracts) {
      it(
        `runs ${contract.name} end to end: send → worker → SUCCESS row`,
        (ctx) => checkRoundTrip(run, options, contract, ctx),
        caseMs,
      );
    }
    it(
      "writes results as the least-privilege worker role (worker-toolbox db grants)",
      (ctx) => checkWriterRole(run, ctx),
      caseMs,
    );
  });
}

async function checkRoundTrip(
  run: ConformanceRun,
  options: ConformanceOptions,
  contract: AnyTaskContract,
  ctx: TestContext,
): Promise<void> {
  await requireWorker(run, ctx);
  const sample = samplesFor(contract, options.samples).samples[0]!;
  const producer = await run.producer();
  const receipt = await producer.send(contract, (sample.args ?? []) as never, (sample.kwargs ?? {}) as never);
  const row = await run.finalRow(receipt.id);
  if (!row) throw new ConformanceFailure(await run.diagnosis.explainMissingRow(receipt.id), STORE_FIX);
  expectStatus(
    row,
    "SUCCESS",
    contract,
    "make the handler succeed for the sample arguments, or pass samples it accepts",
  );
}

async function checkWriterRole(run: ConformanceRun, ctx: TestContext): Promise<void> {
  await requireWorker(run, ctx);
  const writers = await run.resultWriters();
  const others = [...writers].filter(([role]) => role !== run.workerRole);
  if (writers.size > 0 && others.length === 0) return;
  const problem =
    writers.size === 0
      ? `The worker wrote no result rows at all, so it never used the role ${run.workerRole} the suite gave it in config.database.url.`
      : `Result rows were written by ${others.map(([role, n]) => `${role} (${n} writes)`).join(", ")}, not only ` +
        `by the least-privilege role ${run.workerRole} from config.database.url.`;
  throw new ConformanceFailure(
    problem,
    "create the worker's pool from config.database.url (createWorker does); in production that URL names " +
      "the least-privilege role from `worker-toolbox db grants`, never the migration owner or a superuser",
  );
}

function expectStatus(row: TaskView, status: "SUCCESS", contract: AnyTaskContract, fix: string): void {
  if (row.status === status) return;
  const error = row.result?.error;
  const why = error ? `: ${error.type}: ${error.message}` : "";
  throw new ConformanceFailure(`${contract.name} ended ${row.status}, not ${status}${why}`, fix);
}
