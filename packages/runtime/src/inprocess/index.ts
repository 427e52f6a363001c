/**
 * The in-process runner: tasks sent are run in this process by the worker's own decisions, results read
 * through the same API (docs/development.md). For development and tests; production mode refuses it.
 */
export {
  createInProcessProducer,
  type InProcessDeadLetter,
  type InProcessOptions,
  type InProcessProducer,
} from "./inProcessProducer.js";
export { databaseResults, type ResultReader } from "./resultReader.js";
export { type InProcessEnv, runDelivery } from "./runDelivery.js";
export type { DelayMode } from "./timeline.js";
