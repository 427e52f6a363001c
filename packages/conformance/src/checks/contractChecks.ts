import {
  type AnyTaskContract,
  ContractViolation,
  taskNameProblem,
  validateCall,
} from "@worker-toolbox/config";
import type { TaskImplementation } from "@worker-toolbox/runtime";
import type { TaskSample } from "../types.js";

/** Contracts without a handler, handlers without a contract, tasks implemented twice. */
export function coverageProblems(
  contracts: readonly AnyTaskContract[],
  tasks: readonly TaskImplementation[],
): string[] {
  const problems: string[] = [];
  const handled = new Map<string, number>();
  for (const task of tasks) {
    if (typeof task?.handler !== "function")
      problems.push(`task ${task?.contract?.name ?? "(unnamed)"} has no handler function`);
    const name = task?.contract?.name ?? "(unnamed)";
    handled.set(name, (handled.get(name) ?? 0) + 1);
  }
  const published = new Map<string, AnyTaskContract>();
  for (const contract of contracts) {
    const other = published.get(contract.name);
    if (other && other !== contract)
      problems.push(`two different contracts are named ${contract.name} (a new signature needs a new .v<N>)`);
    published.set(contract.name, contract);
  }
  for (const name of [...published.keys()].sort()) {
    if (!handled.has(name))
      problems.push(`contract ${name} has no handler: producers can send it, and it would be dead-lettered`);
  }
  for (const [name, count] of [...handled].sort()) {
    if (!published.has(name))
      problems.push(`handler ${name} has no published contract: no producer can call it`);
    if (count > 1) problems.push(`task ${name} is implemented ${count} times`);
  }
  for (const task of tasks) {
    const contract = published.get(task.contract.name);
    if (contract && contract !== task.contract)
      problems.push(
        `handler ${task.contract.name} is bound to a different contract object than the published one`,
      );
  }
  return problems;
}

/** Why a task's name breaks the rule or lies outside the service, or null. */
export function nameProblem(contract: AnyTaskContract, service: string): string | null {
  const problem = taskNameProblem(contract.name);
  if (problem) return `task name "${contract.name}" is invalid: ${problem}`;
  if (contract.service !== service)
    return `task ${contract.name} belongs to service "${contract.service}", not "${service}": it is routed to another queue`;
  return null;
}

/** The samples of a task: the `samples` option, else its contract's examples, else a call without arguments. */
export function samplesFor(
  contract: AnyTaskContract,
  samples: Record<string, TaskSample | readonly TaskSample[]> | undefined,
): { samples: TaskSample[]; source: "samples option" | "contract examples" | "no arguments" } {
  const given = samples?.[contract.name];
  if (given !== undefined) {
    return { samples: Array.isArray(given) ? [...given] : [given as TaskSample], source: "samples option" };
  }
  if (contract.examples.length > 0) {
    return {
      samples: contract.examples.map((example: TaskSample) => ({
        args: example.args,
        kwargs: example.kwargs,
      })),
      source: "contract examples",
    };
  }
  return { samples: [{ args: [], kwargs: {} }], source: "no arguments" };
}

/** Every sample call that fails the contract, with the failing paths. */
export function sampleProblems(contract: AnyTaskContract, samples: readonly TaskSample[]): string[] {
  const problems: string[] = [];
  samples.forEach((sample, index) => {
    try {
      validateCall(contract, sample.args ?? [], sample.kwargs ?? {});
    } catch (error) {
      const issues =
        error instanceof ContractViolation
          ? error.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")
          : (error as Error).message;
      problems.push(`sample ${index} (${JSON.stringify(sample.args ?? [])}): ${issues}`);
    }
  });
  return problems;
}
