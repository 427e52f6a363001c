import type { Pool } from "pg";
import {
  getFamily,
  getTask,
  type TaskFamily,
  type TaskView,
  type WaitOptions,
  waitForResult,
} from "../results/readResults.js";

/**
 * The read API over stored results, whatever holds them: PostgreSQL (`getTask`, `getFamily`,
 * `waitForResult` on a pool) or the in-process runner's memory. The same `TaskView` either way.
 */
export interface ResultReader {
  /** Tracking record, result and status of one task; status PENDING when nothing is stored. */
  getTask(taskId: string): Promise<TaskView>;
  /** Every task sharing `rootId` (the root included) and the family's overall status. */
  getFamily(rootId: string): Promise<TaskFamily>;
  /** Resolve once the task reached a final state; RESULT_TIMEOUT after `timeoutMs`. */
  waitForResult(taskId: string, options: WaitOptions): Promise<TaskView>;
}

/** The reader over the result tables in `schema`. */
export function databaseResults(pool: Pool, schema: string): ResultReader {
  return {
    getTask: (taskId) => getTask(pool, schema, taskId),
    getFamily: (rootId) => getFamily(pool, schema, rootId),
    waitForResult: (taskId, options) => waitForResult(pool, schema, taskId, options),
  };
}
