/**
 * @worker-toolbox/runtime — what a service author and an application need: the worker and its task
 * handlers, the producer and Celery's canvas, the tracker, reading results, the Celery value types,
 * trace context and the process's logger (JSON or readable lines, crash reports). Operators' tools are subpaths:
 *
 *   @worker-toolbox/runtime/ops        doctor, monitor, dead letters (list, replay, purge), health probes
 *   @worker-toolbox/runtime/results    result backend: migrations, grants, prune, stores, reads
 *   @worker-toolbox/runtime/protocol   the Celery v2 codec, Kombu JSON, the envelope (header names)
 *   @worker-toolbox/runtime/topology   apply and verify the topology plan, the RabbitMQ management API
 *   @worker-toolbox/runtime/broker     the self-healing connection and the confirm publisher
 *
 * Throwaway test servers live in `@worker-toolbox/testing`.
 */
export {
  type AnySignature,
  type Canvas,
  type CanvasReceipt,
  type Chain,
  type Chord,
  type CompleteSignature,
  chain,
  chord,
  type Fed,
  type Group,
  group,
  immutable,
  type OutOf,
  partial,
  type Signature,
  type SignatureMode,
  type SignatureOptions,
  signature,
} from "./canvas/index.js";
export {
  type HealthServer,
  type HealthServerOptions,
  type HealthTarget,
  startHealthServer,
} from "./health/startHealthServer.js";
export {
  createInProcessProducer,
  databaseResults,
  type InProcessDeadLetter,
  type InProcessOptions,
  type InProcessProducer,
  type ResultReader,
} from "./inprocess/index.js";
export {
  type CreateLoggerOptions,
  createLogger,
  type FatalReportOptions,
  installCrashReporter,
  type LogDestination,
  type LogFormat,
  reportFatal,
  resolveLogFormat,
} from "./logging/index.js";
export {
  createProducer,
  type Producer,
  type ProducerEvents,
  type ProducerOptions,
  type ProducerState,
  type SendOptions,
  type SendReceipt,
  type TaskCall,
  type TrackingMetadata,
} from "./producer/index.js";
export type { CanvasSendOptions } from "./producer/types.js";
export {
  childTraceparent,
  parseTraceparent,
  startTraceparent,
  type TraceContext,
  traceIdOf,
} from "./protocol/traceContext.js";
export { CeleryDate, CeleryDecimal, CeleryTime } from "./protocol/values.js";
export { createDatabasePool } from "./results/pool.js";
export {
  getFamily,
  getTask,
  type StoredResult,
  type TaskFamily,
  type TaskView,
  type WaitOptions,
  waitForResult,
} from "./results/readResults.js";
export type { TaskState } from "./results/resultTypes.js";
export {
  createResultWatcher,
  type ResultWatcher,
  type ResultWatcherOptions,
} from "./results/resultWatcher.js";
export { createTracker, type Tracker, type TrackerOptions, type TrackerStats } from "./tracker/index.js";
export {
  createWorker,
  type FollowUpOptions,
  implementTask,
  installSignalHandlers,
  PermanentError,
  type ProgressUpdate,
  RetryableError,
  type RetryableErrorOptions,
  type RevokeTaskOptions,
  revokeTask,
  type SignalHandlerOptions,
  SoftTimeLimitExceeded,
  type TaskContext,
  type TaskHandler,
  type TaskImplementation,
  TaskRevokedError,
  TimeLimitExceeded,
  type Worker,
  type WorkerOptions,
  WorkerShutdownError,
  type WorkerState,
  type WorkerStats,
} from "./worker/index.js";
