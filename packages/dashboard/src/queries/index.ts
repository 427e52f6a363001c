/**
 * The read queries over the persistent task history, shared by the dashboard and the CLI's `task` and
 * `tasks` commands (one implementation, so both always agree).
 */
export { type FailureGroup, type FailureGroupKey, failureGroups, failureGroupTaskIds } from "./failures.js";
export {
  type ArgumentMatch,
  type Cursor,
  decodeCursor,
  durationMs,
  encodeCursor,
  parseArgumentSearch,
  parseMoment,
  parseStates,
  parseTaskFilter,
  TASK_STATES,
  type TaskFilter,
} from "./filters.js";
export {
  parseReplays,
  REPLAY_PAGE_LIMIT,
  type ReplayBatch,
  type ReplayedTask,
  type ReplayOutcome,
  replayBatch,
  replaysQuery,
} from "./replayBatch.js";
export {
  type SearchOptions,
  searchTasks,
  type TaskPage,
  type TaskSummary,
  taskConditions,
} from "./searchTasks.js";
export {
  FAMILY_LIMIT,
  type FamilyMember,
  getTaskDetail,
  type StateChange,
  type TaskDetail,
} from "./taskDetail.js";
export { isVersionOf, listTaskNames, versionsOf } from "./taskNames.js";
export {
  type ServiceThroughput,
  serviceThroughput,
  type ThroughputBucket,
  throughputSeries,
} from "./throughput.js";
