import { z } from "zod";
import { doc, positiveInt } from "./doc.js";
import { maxInFlightBytes } from "./inFlightBytes.js";

/** `worker.*`: one worker process (prefetch, concurrency, result batches, events, health endpoint). */
export const workerSchema = z.strictObject({
  prefetch: doc(positiveInt().max(10_000).default(20), "Unacknowledged messages the broker sends ahead.", 20),
  concurrency: doc(positiveInt().max(1_000).default(8), "Handlers running at once in one process.", 8),
  shutdownGraceMs: doc(
    positiveInt().default(30_000),
    "On SIGTERM, how long running tasks may finish before they are aborted and returned to the queue.",
    30000,
  ),
  resultBatchSize: doc(
    positiveInt().max(1_000).default(100),
    "Results written per database round trip; a message is acknowledged only after its row is committed.",
    100,
  ),
  resultBatchWaitMs: doc(
    z.number().int().min(0).max(1_000).default(2),
    "How long to wait for more results before writing a partial batch.",
    2,
  ),
  maxInFlightBytes: maxInFlightBytes("worker", 64 * 1024 * 1024),
  trackStarted: doc(
    z.boolean().default(false),
    "Write a STARTED row when a task starts (Celery's task_track_started; a contract's `trackStarted` " +
      "asks for it per task). Off by default, as in Celery: one more write per task.",
    true,
  ),
  events: doc(
    z.boolean().default(false),
    "Send Celery events (as `celery worker -E`): worker-online/heartbeat/offline and task-received/" +
      "started/succeeded/failed/retried/revoked on `<prefix>.celeryev`, for `celery events`, Flower and the " +
      "dashboard. On by default in development mode.",
    true,
  ),
  heartbeatMs: doc(
    z.number().int().min(500).max(60_000).default(2_000),
    "With events on, how often the worker sends worker-heartbeat (Celery's is every 2 s; monitors call " +
      "a worker offline after missing a few).",
    2000,
  ),
  healthPort: doc(
    z.number().int().min(0).max(65_535).optional(),
    "Port of the HTTP endpoint with /healthz, /readyz and /metrics. Off when unset; 0 picks a free port.",
    9464,
  ),
  healthHost: doc(
    z.string().min(1).optional(),
    "Interface the health endpoint listens on (with worker.healthPort). Unset: every interface (`::`, IPv4 " +
      "too), since probes and scrapers come from outside the container; the development and test presets " +
      "set 127.0.0.1, so a laptop does not serve /metrics to its network.",
    "0.0.0.0",
  ),
});
