/**
 * Result backend on PostgreSQL: Celery-compatible `celery_taskmeta` plus JSON columns, the
 * platform's tracking table, migrations, least-privilege grants and pruning.
 */
export { describeDatabase } from "./dbErrors.js";
export { type FollowResultsOptions, followResults } from "./followResults.js";
export {
  type GrantsOptions,
  grantsSql,
  type RequiredGrant,
  requiredGrants,
  scramVerifier,
} from "./grants.js";
export {
  type AuditCategory,
  type AuditGroup,
  type AuditQuery,
  type AuditRows,
  auditRows,
  auditWindow,
  type UntrackedGroup,
} from "./lossAccounting.js";
export { trackingInput } from "./messageRows.js";
export {
  assertMigrated,
  type MigrateOptions,
  type MigrateResult,
  type MigrationStatus,
  migrate,
  migrationStatus,
} from "./migrate.js";
export { MIGRATIONS } from "./migrations.js";
export type { Migration } from "./migrationTypes.js";
export {
  type CeleryExceptionDict,
  celeryExceptionDict,
  celeryExceptionPickle,
  encodePickle,
  type PickleValue,
} from "./pickle.js";
export { createDatabasePool } from "./pool.js";
export { describeUse, guardClient, guardedClient, guardedPool, guardPool } from "./poolErrors.js";
export { type PruneCounts, type PruneOptions, pruneResults } from "./prune.js";
export {
  familyStatus,
  getFamily,
  getResults,
  getTask,
  type StoredResult,
  type TaskFamily,
  type TaskView,
  type WaitOptions,
  waitForResult,
} from "./readResults.js";
export {
  nextGenerations,
  type RecentReplays,
  type Replay,
  type ReplayOutcomes,
  recordReplays,
  replayOutcomes,
  replaysSince,
  type UnfinishedReplay,
  type WaitForReplaysOptions,
  waitForReplays,
} from "./replays.js";
export { createResultStore, type ResultStore, type ResultStoreOptions } from "./resultStore.js";
export type { TaskErrorInfo, TaskOutcome, TaskRef, TaskState, WriteSummary } from "./resultTypes.js";
export { createResultWatcher, type ResultWatcher, type ResultWatcherOptions } from "./resultWatcher.js";
export { FINAL_STATES, RESULT_CHANNEL, type ResultTables, resultTables } from "./sqlNames.js";
export {
  type TrackingInput,
  type TrackingRecord,
  type TrackingSummary,
  upsertTracking,
} from "./trackingStore.js";
export { decodePickle } from "./unpickle.js";
