import { type AnyTaskContract, ConfigError, loadConfig, type ToolboxConfig } from "@worker-toolbox/config";

/**
 * The service the suite tests: the one named by the tasks (a worker runs exactly one service). When the
 * tasks disagree, the most common one wins and the contracts case reports the strays.
 */
export function inferService(contracts: readonly AnyTaskContract[], config?: ToolboxConfig): string {
  if (config?.service) return config.service;
  const counts = new Map<string, number>();
  for (const contract of contracts) counts.set(contract.service, (counts.get(contract.service) ?? 0) + 1);
  const best = [...counts].sort((a, b) => b[1] - a[1])[0];
  if (!best)
    throw new TypeError("describeWorkerConformance needs at least one task (options.tasks is empty)");
  return best[0];
}

/**
 * Load the config as production would: mode production, the production environment, the service name
 * the code supplies. Returns the problems (each names its variable), empty when it loads.
 */
export function productionConfigProblems(
  env: Record<string, string | undefined>,
  service: string,
  secrets: readonly string[] = [],
): string[] {
  try {
    loadConfig({ env, overrides: { mode: "production", service } });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) {
      // A secret the deployment's secret store provides is not in the test's environment: not a problem,
      // as long as it is the only thing wrong with that variable (it is absent, not malformed).
      const fromStore = (envVar: string | undefined) =>
        envVar !== undefined && secrets.includes(envVar) && env[envVar] === undefined;
      return error.issues
        .filter((issue) => !fromStore(issue.envVar))
        .map((issue) => {
          const where = issue.envVar ? `${issue.envVar} (${issue.path})` : issue.path;
          return `${where}: ${issue.message}`;
        });
    }
    return [(error as Error).message];
  }
}

/** The config names the service, and every task belongs to it. */
export function serviceProblems(
  service: string,
  config: ToolboxConfig | undefined,
  tasks: readonly AnyTaskContract[],
): string[] {
  const problems: string[] = [];
  if (config && config.service === undefined)
    problems.push(`the config names no service (set WT_SERVICE=${service} or pass service in code)`);
  for (const contract of tasks) {
    if (contract.service !== service)
      problems.push(
        `task ${contract.name} belongs to service "${contract.service}": its messages never reach this worker's queue`,
      );
  }
  return problems;
}
