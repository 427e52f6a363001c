/**
 * The worker: consumes a service's queue and runs its tasks with at-least-once execution, retries through
 * broker-side delay rungs, dead-lettering with reasons, revocation and graceful shutdown.
 */

export type { WorkerStats } from "../delivery/settle.js";
export { createWorker, type Worker, type WorkerOptions, type WorkerState } from "./createWorker.js";
export {
  PermanentError,
  RetryableError,
  type RetryableErrorOptions,
  SoftTimeLimitExceeded,
  TaskRevokedError,
  TimeLimitExceeded,
  WorkerShutdownError,
} from "./errors.js";
export {
  type FollowUpOptions,
  implementTask,
  type ProgressUpdate,
  type TaskContext,
  type TaskHandler,
  type TaskImplementation,
} from "./implementTask.js";
export { decodeRevoke, encodeRevoke, type RevokeTaskOptions, revokeTask } from "./revocations.js";
export { installSignalHandlers, type SignalHandlerOptions } from "./shutdown.js";
