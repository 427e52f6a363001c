import type { AnyTaskContract } from "@worker-toolbox/config";
import { afterAll, describe } from "vitest";
import { inferService } from "./checks/configChecks.js";
import { registerCanvasCases } from "./registerCanvasCases.js";
import { registerFailureCases } from "./registerFailureCases.js";
import { registerRoundTripCases } from "./registerRoundTripCases.js";
import { registerRoutingCases } from "./registerRoutingCases.js";
import { registerShutdownCases } from "./registerShutdownCases.js";
import { registerStaticCases } from "./registerStaticCases.js";
import { registerTopologyCases } from "./registerTopologyCases.js";
import { ConformanceRun } from "./run.js";
import type { ConformanceOptions } from "./types.js";

/**
 * Register the conformance suite in the calling test file: one describe block per concern, each case a
 * requirement the service must meet.
 *
 *   config → contracts          static: no servers needed
 *   topology → routing          the worker started in a fresh namespace, the broker inspected
 *   round trip → workflows →    tasks sent through the real broker to the real worker and database
 *   failures → shutdown
 *
 * Cases run in that order against one worker; shutdown closes it, so it comes last. Cases that need a
 * worker are skipped (with a note) when it did not start: the "starts the worker" case carries the error.
 */
export function describeWorkerConformance(options: ConformanceOptions): void {
  if (!options || !Array.isArray(options.tasks) || options.tasks.length === 0) {
    throw new TypeError(
      "describeWorkerConformance({ tasks }) needs the service's implementTask registrations",
    );
  }
  const taskContracts = uniqueByName(options.tasks.map((task) => task.contract));
  const contracts = options.contracts ? [...options.contracts] : taskContracts;
  const service = inferService(taskContracts, options.config);
  const run = new ConformanceRun(options, service);

  describe(options.title ?? `${service} worker conformance`, () => {
    afterAll(() => run.close(), 120_000);
    registerStaticCases({ options, service, contracts, taskContracts });
    registerTopologyCases(run);
    registerRoutingCases(run);
    registerRoundTripCases(run, options);
    registerCanvasCases(run);
    registerFailureCases(run);
    registerShutdownCases(run);
  });
}

function uniqueByName(contracts: readonly AnyTaskContract[]): AnyTaskContract[] {
  const byName = new Map<string, AnyTaskContract>();
  for (const contract of contracts) if (!byName.has(contract.name)) byName.set(contract.name, contract);
  return [...byName.values()];
}
