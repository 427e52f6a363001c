/**
 * Terminology
 *
 * - **task**: one unit of background work, named `<service>.<task>[.v<N>]` (e.g. `export.project.v2`).
 *   The name is also the AMQP routing key.
 * - **service**: a worker pool owned by one team. It has exactly one queue, bound with `<service>.#`,
 *   so every task whose name starts with the service reaches it.
 * - **environment prefix**: the first segment of every broker entity name (`staging.tasks`), so several
 *   environments can share one broker without seeing each other's tasks.
 * - **contract**: a task's name plus zod schemas for its arguments and result, shared by the code that
 *   sends the task (producer) and the code that runs it (worker). A bad call fails at the producer.
 * - **platform queue**: receives a copy of every task message (bound with `#`); the tracker consumes it
 *   into the tracking table so the platform can see every task ever scheduled.
 * - **result**: a task's outcome in the Celery-compatible `celery_taskmeta` table.
 * - **tracking record**: a row per task id in the tracking table (who asked, when, parent/root ids).
 * - **topology plan**: the exchanges, queues and bindings a config implies, as plain data
 *   (`planTopology`); `applyTopology`/`verifyTopology` in the runtime act on it.
 */

export type { AnyTaskContract, TaskArgs, TaskContract, TaskKwargs, TaskResult } from "./contracts.js";
export type {
  PlannedBinding,
  PlannedExchange,
  PlannedQueue,
  PlannedWorkerQueue,
  TopologyPlan,
} from "./planTopology.js";
export type { QueueType, RetryPolicy, ToolboxConfig, ToolboxConfigInput } from "./schema.js";
