import type { AnyTaskContract } from "@worker-toolbox/config";
import { it, type TestContext } from "vitest";
import { describeCaseGroup, requireWorker } from "./caseGroup.js";
import { route, shortQueueSet } from "./checks/routing.js";
import { ConformanceFailure, failIfAny } from "./failure.js";
import type { ConformanceRun } from "./run.js";

/** Routing: where a message for each of the service's tasks goes, from the bindings on the broker. */
export function registerRoutingCases(run: ConformanceRun): void {
  describeCaseGroup("routing", run, () => {
    for (const contract of run.serviceContracts) {
      it(
        `routes ${contract.name} to exactly {${run.service}, platform}`,
        (ctx) => checkRoute(run, contract, ctx),
        30_000,
      );
    }
  });
}

async function checkRoute(run: ConformanceRun, contract: AnyTaskContract, ctx: TestContext): Promise<void> {
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
}
