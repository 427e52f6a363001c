import type { AnyTaskContract } from "@worker-toolbox/config";
import type { ConformanceOptions } from "../types.js";

/**
 * Find the contracts a service defines, so the suite can tell when one was dropped from the worker's task
 * list (its messages would be dead-lettered as unknown at runtime, and nothing else would notice). The test
 * file loads the service's contract modules itself — `import.meta.glob("../src/tasks/**\/*.ts", { eager:
 * true })`, which vitest compiles like any import of the test (an import made from inside this package would
 * reach Node's loader, which cannot load TypeScript) — and every exported contract, or array of contracts,
 * in them is collected.
 */
export function contractsIn(modules: Readonly<Record<string, unknown>>): AnyTaskContract[] {
  const found: AnyTaskContract[] = [];
  for (const exports of Object.values(modules)) {
    if (typeof exports !== "object" || exports === null) continue;
    for (const value of Object.values(exports as Record<string, unknown>)) {
      for (const item of Array.isArray(value) ? value : [value]) if (isContract(item)) found.push(item);
    }
  }
  return found;
}

/** What `defineTask` returns: a name split into service and task, and zod schemas. */
function isContract(value: unknown): value is AnyTaskContract {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === "string" &&
    typeof v.service === "string" &&
    typeof v.task === "string" &&
    Array.isArray(v.examples) &&
    typeof (v.result as { safeParse?: unknown } | undefined)?.safeParse === "function"
  );
}

/**
 * What the service publishes: `contracts` (or the tasks' own), plus every contract of the service found in
 * `contractModules`. With none of `contracts`, `contractModules` and `tasksComplete`, the list is only the
 * task list itself, which cannot show a task dropped from it: that is a problem of its own.
 */
export function publishedContracts(
  options: Pick<ConformanceOptions, "contracts" | "contractModules" | "tasksComplete">,
  service: string,
  contracts: readonly AnyTaskContract[],
): { contracts: AnyTaskContract[]; problems: string[] } {
  const byName = new Map(contracts.map((contract) => [contract.name, contract] as const));
  const problems: string[] = [];
  if (options.contractModules !== undefined) {
    for (const contract of contractsIn(options.contractModules)) {
      if (contract.service === service && !byName.has(contract.name)) byName.set(contract.name, contract);
    }
  } else if (options.contracts === undefined && options.tasksComplete !== true) {
    problems.push(
      "the suite cannot see the service's contracts, so a task dropped from the worker's task list would pass " +
        'unnoticed: pass contractModules: import.meta.glob("../src/tasks/**/*.ts", { eager: true }) (or ' +
        "contracts), or declare tasksComplete: true",
    );
  }
  return { contracts: [...byName.values()], problems };
}
