/**
 * The worker's HTTP endpoint: /healthz (liveness), /readyz (consumer active, database answering) and
 * /metrics (Prometheus). createWorker starts it itself when `worker.healthPort` is set.
 */
export {
  DatabaseProbe,
  type DatabaseProbeOptions,
  type ProbeResult,
  pingDatabase,
  type Queryable,
} from "./databaseProbe.js";
export {
  type HealthServer,
  type HealthServerOptions,
  type HealthTarget,
  startHealthServer,
} from "./startHealthServer.js";
