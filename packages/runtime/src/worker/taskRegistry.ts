import { type RetryPolicy, type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import { retryPolicyFor } from "../delivery/judge.js";
import type { TaskImplementation } from "./implementTask.js";

/** The tasks a worker runs, by name, each with its retry policy (the configured one with the contract's overrides). */
export interface TaskRegistry {
  readonly names: readonly string[];
  get(name: string): TaskImplementation | undefined;
  policy(impl: TaskImplementation): RetryPolicy;
  /**
   * Change a task's [hard, soft] time limits (ms; null: none) from now on, as Celery's `time_limit` control
   * command does: the contract's limits are replaced for this worker until it restarts. False for a name it
   * does not run. A message's own `timelimit` header still comes first.
   */
  setTimeLimits(name: string, limits: { hard: number | null; soft: number | null }): boolean;
}

/**
 * Check that every task belongs to `config.service` and is given once. The in-process runner runs the tasks
 * of several services in one process (`anyService`): then only the second check applies.
 */
export function taskRegistry(
  config: ToolboxConfig,
  tasks: readonly TaskImplementation[],
  options: { anyService?: boolean } = {},
): TaskRegistry {
  const service = options.anyService ? undefined : config.service;
  if (!service && !options.anyService) {
    throw new ToolboxError(
      "CONFIG_INVALID",
      "A worker needs config.service (the service whose queue it consumes).",
      {
        hint: "set `service` in the config, or WT_SERVICE in the environment",
      },
    );
  }
  const byName = new Map<string, TaskImplementation>();
  const policies = new Map<TaskImplementation, RetryPolicy>();
  for (const impl of tasks) {
    if (service !== undefined && impl.contract.service !== service) {
      throw new ToolboxError(
        "CONFIG_INVALID",
        `Task ${impl.contract.name} belongs to service ${impl.contract.service}, but this worker runs ${service}.`,
        {
          hint: `its messages never reach the queue ${config.environment.prefix}.${service}; run it in its own service`,
        },
      );
    }
    if (byName.has(impl.contract.name)) {
      throw new ToolboxError("CONFIG_INVALID", `Task ${impl.contract.name} is implemented twice.`, {
        hint: "pass each task to createWorker once",
      });
    }
    byName.set(impl.contract.name, impl);
    policies.set(impl, retryPolicyFor(config, impl.contract));
  }
  return {
    names: [...byName.keys()],
    get: (name) => byName.get(name),
    policy: (impl) => policies.get(impl) ?? retryPolicyFor(config, impl.contract),
    setTimeLimits(name, limits) {
      const impl = byName.get(name);
      if (!impl) return false;
      const changed: TaskImplementation = {
        ...impl,
        contract: { ...impl.contract, timeLimitMs: { ...limits } },
      };
      byName.set(name, changed);
      policies.set(changed, retryPolicyFor(config, changed.contract));
      return true;
    },
  };
}

/** Store STARTED before the handler runs (Celery's track_started): the contract's choice, else the config's. */
export function tracksStarted(config: ToolboxConfig, impl: TaskImplementation): boolean {
  return impl.contract.trackStarted ?? config.worker.trackStarted;
}
