/**
 * @worker-toolbox/runtime/ops — operations as library functions: the doctor's checks, the queue monitor,
 * dead-letter inspection, replay and purge (the CLI's `doctor`, `monitor` and `dlq` are thin wrappers),
 * and the health probes a worker's /readyz uses.
 */
export * from "../health/index.js";
export * from "../ops/index.js";
