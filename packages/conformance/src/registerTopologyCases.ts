import { isToolboxError } from "@worker-toolbox/config";
import { describeMismatch } from "@worker-toolbox/runtime/topology";
import { it, type TestContext } from "vitest";
import { describeCaseGroup, requireWorker } from "./caseGroup.js";
import { groupProblems, onlyMissing, topologyGroups } from "./checks/topologyChecks.js";
import { ConformanceFailure, failIfAny } from "./failure.js";
import type { ConformanceRun } from "./run.js";

/** Topology: the worker starts in a fresh namespace, and what it declared is inspected on the broker. */
export function registerTopologyCases(run: ConformanceRun): void {
  const caseMs = run.startTimeoutMs + 15_000;
  describeCaseGroup("topology", run, () => {
    it("starts the worker with the run config and reports ready", (ctx) => checkStarts(run, ctx), caseMs);
    // The plan is only known once the run is prepared; the groups' titles do not depend on it.
    const emptyPlan = { prefix: "prefix", exchanges: [], queues: [], bindings: [], workerQueues: [] };
    const titles = topologyGroups(emptyPlan, run.service).map((group) => group.title);
    titles.forEach((title, index) => {
      it(title, (ctx) => checkTopologyGroup(run, index, ctx), caseMs);
    });
    it(
      "declares nothing under <prefix> beyond the plan (no extra bindings, queues or exchanges)",
      (ctx) => checkNoExtras(run, ctx),
      caseMs,
    );
  });
}

async function checkStarts(run: ConformanceRun, ctx: TestContext): Promise<void> {
  ctx.task.meta.conformanceRun = run.created;
  const outcome = await run.startWorker();
  if (outcome.ok) return;
  const drift = isToolboxError(outcome.error, "TOPOLOGY_MISMATCH");
  throw new ConformanceFailure(
    `The ${run.service} worker did not start: ${outcome.error.message}`,
    drift
      ? "the broker already has entities that differ from the toolbox's plan (see the topology cases): " +
          "stop declaring them by hand, or delete them and let the worker declare them"
      : "startWorker must start the real worker with the config and tasks it is given and resolve once it " +
          "consumes (createWorker(...).start() does)",
    { cause: outcome.error },
  );
}

async function checkTopologyGroup(run: ConformanceRun, index: number, ctx: TestContext): Promise<void> {
  const outcome = await run.startWorker();
  const result = await run.verify();
  const group = topologyGroups(run.plan, run.service)[index]!;
  const problems = groupProblems(group, result.mismatches);
  if (result.bindingsChecked === "skipped" && [...group.entities].some((name) => name.includes(" -> ")))
    problems.push(`bindings were not checked: ${result.skippedReason}`);
  if (!outcome.ok && problems.length > 0 && onlyMissing(group, result.mismatches))
    ctx.skip("the worker did not start, so nothing declared these entities");
  failIfAny(
    problems,
    `After the worker started, the broker differs from the toolbox's topology plan (prefix ${run.prefix})`,
    "declare topology only through the toolbox (createWorker applies planTopology(config)); entities " +
      "declared by hand or by an older version keep their arguments until deleted. " +
      "`worker-toolbox topology verify` prints the same report for a real environment",
  );
}

async function checkNoExtras(run: ConformanceRun, ctx: TestContext): Promise<void> {
  await requireWorker(run, ctx);
  const result = await run.verify();
  const problems = result.mismatches.filter((m) => m.problem === "extra").map(describeMismatch);
  if (result.bindingsChecked === "skipped") problems.push(`extras were not checked: ${result.skippedReason}`);
  failIfAny(
    problems,
    `After the worker started, the broker has entities under ${run.prefix} that no plan has`,
    "declare topology only through the toolbox; a binding that matches another service's tasks hands them " +
      "to this worker, which cannot run them and would store a failure over the result their own worker " +
      "stored. `worker-toolbox topology prune --yes` removes extras from a real environment",
  );
}
