/**
 * Result backend on PostgreSQL: Celery-compatible `celery_taskmeta` plus JSON columns, the
 * platform's tracking table, migrations, least-privilege grants and pruning.
 */
export { describeDatabase, maskDatabaseUrl } from "./dbErrors.js";
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
