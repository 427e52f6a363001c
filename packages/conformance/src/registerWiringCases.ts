import { isToolboxError } from "@worker-toolbox/config";
import { describeMismatch } from "@worker-toolbox/runtime/topology";
import { beforeAll, describe, it, type TestContext } from "vitest";
import { route, shortQueueSet } from "./checks/routing.js";
import { groupProblems, onlyMissing, topologyGroups } from "./checks/topologyChecks.js";
import { ConformanceFailure, failIfAny } from "./failure.js";
import type { ConformanceRun } from "./run.js";

const PREPARE_MS = 180_000;

/** Skip a case that needs a running worker when it did not start (the start case carries the error). */
export async function requireWorker(run: ConformanceRun, ctx: TestContext): Promise<void> {
  const outcome = await run.startWorker();
  if (!outcome.ok) ctx.skip("the worker did not start (see the case 'starts the worker ...')");
}

/** Topology and routing: what the worker declared, inspected on the broker. */
export function registerWiringCases(run: ConformanceRun): void {
  const caseMs = run.startTimeoutMs + 15_000;

  describe("topology", () => {
    beforeAll(() => run.prepare(), PREPARE_MS);

    it(
      "starts the worker with the run config and reports ready",
      async () => {
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
      },
      caseMs,
    );

    // The plan is only known once the run is prepared; the groups' titles do not depend on it.
    const emptyPlan = { prefix: "prefix", exchanges: [], queues: [], bindings: [], workerQueues: [] };
    const titles = topologyGroups(emptyPlan, run.service).map((group) => group.title);
    titles.forEach((title, index) => {
      it(
        title,
        async (ctx) => {
          const outcome = await run.startWorker();
          const result = await run.verify();
          const group = topologyGroups(run.plan, run.service)[index]!;
          const problems = groupProblems(group, result.mismatches);
          if (
            result.bindingsChecked === "skipped" &&
            [...group.entities].some((name) => name.includes(" -> "))
          )
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
        },
        caseMs,
      );
    });

    it(
      "declares nothing under <prefix> beyond the plan (no extra bindings, queues or exchanges)",
      async (ctx) => {
        await requireWorker(run, ctx);
        const result = await run.verify();
        const problems = result.mismatches.filter((m) => m.problem === "extra").map(describeMismatch);
        if (result.bindingsChecked === "skipped")
          problems.push(`extras were not checked: ${result.skippedReason}`);
        failIfAny(
          problems,
          `After the worker started, the broker has entities under ${run.prefix} that no plan has`,
          "declare topology only through the toolbox; a binding that matches another service's tasks hands them " +
            "to this worker, which cannot run them and would store a failure over the result their own worker " +
            "stored. `worker-toolbox topology prune --yes` removes extras from a real environment",
        );
      },
      caseMs,
    );
  });

  describe("routing", () => {
    beforeAll(() => run.prepare(), PREPARE_MS);

    for (const contract of run.serviceContracts) {
      it(`routes ${contract.name} to exactly {${run.service}, platform}`, async (ctx) => {
        await requireWorker(run, ctx);
        const { exchanges, bindings } = await run.routingSnapshot();
        const names = run.names;
        const found = route(exchanges, bindings, names.exchange, contract.name);
        if (found.missingExchange) {
          throw new ConformanceFailure(
            `The task exchange ${names.exchange} does not exist, so ${contract.name} is routed nowhere.`,
            "let the worker declare its topology (createWorker does) or run `worker-toolbox topology apply`",
          );
        }
        const expected = [run.serviceQueue, names.platformQueue];
        const problems: string[] = [];
        if (!found.queues.includes(run.serviceQueue))
          problems.push(
            `it does not reach the service queue ${run.serviceQueue}: no worker of ${run.service} ever runs it ` +
              `(bind the queue to ${names.exchange} with ${run.service}.#)`,
          );
        if (!found.queues.includes(names.platformQueue))
          problems.push(
            `it does not reach the platform queue ${names.platformQueue}: the platform never records the task ` +
              `(bind the queue to ${names.exchange} with #)`,
          );
        for (const queue of found.queues.filter((item) => !expected.includes(item)))
          problems.push(
            `it also reaches ${queue}: another binding matches the routing key ${contract.name}, so a second ` +
              "worker pool may run it (remove that binding, or rename the task)",
          );
        for (const exchange of found.unknown)
          problems.push(`it passes the exchange ${exchange}, whose routing cannot be evaluated from the key`);
        failIfAny(
          problems,
          `A message for ${contract.name} published to ${names.exchange} reaches ` +
            `${shortQueueSet(found.queues, run.prefix)} instead of {${run.service}, platform}`,
          "declare topology only through the toolbox (planTopology binds the service queue with <service>.# " +
            "and the platform queue with #) and remove bindings declared by hand",
        );
      }, 30_000);
    }
  });
}
