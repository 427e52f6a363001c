/**
 * The handler test kit: run a task as the worker would (`runTask`), with what the handler sent, reported
 * and logged recorded; a recording task context for direct calls; assertions on follow-up sends.
 */
export { expectNothingSent, expectSent, type SentCall, sentCalls } from "./assertions.js";
export type { LogLine, Recording, SentTask } from "./recording.js";
export {
  type Attempt,
  type RunState,
  type RunTaskOptions,
  runTask,
  type TaskCall,
  type TaskRun,
} from "./runTask.js";
export { testTaskContext } from "./testTaskContext.js";
