import type { AnyTaskContract } from "@worker-toolbox/config";
import { describe, it } from "vitest";
import { productionConfigProblems, serviceProblems } from "./checks/configChecks.js";
import { coverageProblems, nameProblem, sampleProblems, samplesFor } from "./checks/contractChecks.js";
import { publishedContracts } from "./checks/contractDiscovery.js";
import { ConformanceFailure, failIfAny } from "./failure.js";
import type { ConformanceOptions } from "./types.js";

interface StaticInput {
  options: ConformanceOptions;
  service: string;
  /** What the service publishes for producers. */
  contracts: readonly AnyTaskContract[];
  /** The contracts its handlers implement. */
  taskContracts: readonly AnyTaskContract[];
}

/** Cases that need no servers: the config as production loads it, and the task contracts. */
export function registerStaticCases({ options, service, contracts, taskContracts }: StaticInput): void {
  describe("config", () => {
    it("loads in production mode from the deployment environment (nothing production needs is missing)", () => {
      failIfAny(
        productionConfigProblems(options.productionEnv ?? process.env, service, options.productionSecrets),
        `The ${service} config does not load in production mode (WT_MODE=production)`,
        "set these variables in the deployment environment (docs/config.md lists every one); in CI, pass " +
          "the deployment's environment as `productionEnv` and name what its secret store adds in `productionSecrets`",
      );
    });

    it(`names the service "${service}" and runs only its tasks`, () => {
      failIfAny(
        serviceProblems(service, options.config, taskContracts),
        `The worker is not wired to exactly one service`,
        `run the tasks of "${service}" in one worker whose config names it; move other tasks to their own service`,
      );
    });
  });

  describe("contracts", () => {
    it("has a handler for every contract and a contract for every handler", () => {
      const published = publishedContracts(options, service, contracts);
      failIfAny(
        [...published.problems, ...coverageProblems(published.contracts, options.tasks)],
        `The ${service} tasks and contracts do not match`,
        "bind every published contract to a handler with implementTask(contract, handler) and pass it to " +
          "createWorker; publish the contract of every handler",
      );
    });

    const all = new Map<string, AnyTaskContract>();
    for (const contract of [...contracts, ...taskContracts])
      if (!all.has(contract.name)) all.set(contract.name, contract);

    for (const contract of all.values()) {
      it(`names ${contract.name} by the rule <service>.<task>[.v<N>], inside service ${service}`, () => {
        const problem = nameProblem(contract, service);
        if (problem) {
          throw new ConformanceFailure(
            problem,
            "name tasks `<service>.<task>` with an optional `.v<N>` (e.g. export.project.v2); the name is the routing key",
          );
        }
      });
    }

    for (const contract of all.values()) {
      it(`accepts the sample arguments of ${contract.name}`, () => {
        const { samples, source } = samplesFor(contract, options.samples);
        failIfAny(
          sampleProblems(contract, samples),
          `The sample calls of ${contract.name} (from the ${source}) break its contract`,
          source === "no arguments"
            ? `add an example to the contract (defineTask({ examples: [{ args: [...] }] })) or pass samples["${contract.name}"]`
            : "fix the samples so they match the contract's args/kwargs schemas (the round trip sends the first one)",
        );
      });
    }
  });
}
