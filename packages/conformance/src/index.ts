/**
 * @worker-toolbox/conformance — the vitest suite a worker service runs in its own CI:
 *
 *   import { describeWorkerConformance } from "@worker-toolbox/conformance";
 *   describeWorkerConformance({ tasks });
 *
 * See docs/conformance.md for what each case proves and how to read a failure.
 */
export { describeWorkerConformance } from "./describeWorkerConformance.js";
export { ConformanceFailure } from "./failure.js";
export type {
  ConformanceOptions,
  ConformanceRunNames,
  ConformanceServers,
  StartedWorker,
  StartWorker,
  StartWorkerInput,
  TaskSample,
} from "./types.js";
