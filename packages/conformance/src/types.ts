/**
 * Terminology
 *
 * - **case**: one vitest test the suite registers, titled as a requirement the service must meet
 *   ("routes export.project.v1 to exactly {export, platform}").
 * - **run**: one execution of the suite in one test file: its own environment prefix on the broker
 *   (the namespace), its own database, its own least-privilege roles, one worker; all removed afterwards.
 * - **run config**: the service's config with the namespace, the test servers, the worker role's database
 *   URL and one extra short delay rung (so retries take milliseconds) put in. `startWorker` receives it.
 * - **synthetic tasks**: `<service>.conformance_fail`, `_slow` and `_probe`, added to the service's tasks so
 *   the suite can watch a failure, a shutdown and an expiry without touching the service's own handlers.
 */
import type { AnyTaskContract, ToolboxConfig } from "@worker-toolbox/config";
import type { TaskImplementation } from "@worker-toolbox/runtime";

/** Where the suite runs: a broker and a PostgreSQL superuser (CREATE DATABASE, CREATE ROLE). */
export interface ConformanceServers {
  amqpUrl: string;
  /** A role that may create databases and roles (the suite creates both, and drops them afterwards). */
  databaseUrl: string;
  /** RabbitMQ management API; needed for the binding and routing cases and for cleanup. */
  managementUrl?: string;
}

/**
 * What one run creates on the servers, and drops again when it closes: recorded in its start case's
 * `meta.conformanceRun` (vitest's JSON reporter writes it), so a CI can check exactly its own run left
 * nothing behind, even while other runs share the servers.
 */
export interface ConformanceRunNames {
  /** The environment prefix: every queue and exchange of the run starts with it. */
  prefix: string;
  database: string;
  roles: string[];
}

declare module "vitest" {
  interface TaskMeta {
    conformanceRun?: ConformanceRunNames;
  }
}

/** What `startWorker` returns: anything that stops the worker, waiting for running tasks. */
export interface StartedWorker {
  close(): Promise<void>;
}

export interface StartWorkerInput {
  /** The run config: use it as it is (prefix, broker, database URL of the worker role). */
  config: ToolboxConfig;
  /** The service's tasks plus the suite's synthetic ones: register all of them. */
  tasks: readonly TaskImplementation[];
}

/**
 * Start the service's real worker for `config` and `tasks` and resolve once it consumes. Runs in the test
 * process: the synthetic tasks are in-process functions the suite watches.
 */
export type StartWorker = (input: StartWorkerInput) => Promise<StartedWorker>;

/** One sample call of a task. */
export interface TaskSample {
  args?: readonly unknown[];
  kwargs?: Record<string, unknown>;
}

export interface ConformanceOptions {
  /** The service's `implementTask(contract, handler)` registrations, as passed to `createWorker`. */
  tasks: readonly TaskImplementation[];
  /**
   * Every contract the service publishes for producers (e.g. everything exported from its contracts
   * module). Each needs a handler in `tasks`. Default: the contracts of `tasks`.
   */
  contracts?: readonly AnyTaskContract[];
  /**
   * The service's contract modules, loaded by the test file: in a generated service
   * `import.meta.glob("../src/tasks/**\/*.ts", { eager: true })`. Every contract of the service exported there
   * must be in `tasks`: one dropped from the task list would be dead-lettered at runtime, and nothing else
   * notices.
   */
  contractModules?: Readonly<Record<string, unknown>>;
  /**
   * Declare that `tasks` is every task of the service, when neither `contracts` nor `contractModules` can
   * show it. Without one of the three, the contracts case fails: the suite could not catch a dropped task.
   */
  tasksComplete?: boolean;
  /**
   * The service's config. Default: `loadConfig()` from the environment, with `service` set to the service
   * of the tasks (as a generated service's worker.ts does).
   */
  config?: ToolboxConfig;
  /**
   * The environment the service gets in production, for the production-mode case (e.g. parsed from the
   * deployment manifest). Default: `process.env`.
   */
  productionEnv?: Record<string, string | undefined>;
  /**
   * Variables the deployment's secret store provides (e.g. `["AMQP_URL", "DATABASE_URL"]`): the
   * production-mode case takes them as given when `productionEnv` lacks them, and still checks them when
   * present. Default: none.
   */
  productionSecrets?: readonly string[];
  /** Start the service's real worker. Default: `createWorker({ config, tasks })` and `start()`. */
  startWorker?: StartWorker;
  /** Sample calls per task name; default: the contract's `examples`, else a call without arguments. */
  samples?: Record<string, TaskSample | readonly TaskSample[]>;
  /** Default: AMQP_URL / DATABASE_URL / RABBITMQ_MANAGEMENT_URL, or throwaway local servers. */
  servers?: ConformanceServers | (() => Promise<ConformanceServers>);
  /** How long to wait for a result row (default 10 s) and for the worker to start (default 20 s). */
  timeouts?: { resultMs?: number; startMs?: number };
  /** Title of the outer describe block; default `<service> worker conformance`. */
  title?: string;
}
