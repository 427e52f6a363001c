/**
 * @worker-toolbox/runtime/ops — operations as library functions: the doctor's checks, the queue monitor,
 * dead-letter inspection, replay and purge (the CLI's `doctor`, `monitor` and `dlq` are thin wrappers),
 * remote control of the workers (`inspect`: Celery's `app.control.broadcast`), and the health probes a
 * worker's /readyz uses.
 */
export { type BroadcastOptions, broadcastCommand } from "../control/broadcast.js";
export * from "../health/index.js";
export * from "../ops/index.js";
