/** Parts of a worker built from its config (worker/createWorker.ts): its logger, result store and writer. */
import { isToolboxError, type ToolboxConfig, type ToolboxError } from "@worker-toolbox/config";
import type pg from "pg";
import type { Logger } from "pino";
import { BatchWriter } from "../consumer/batchWriter.js";
import { durableRetry } from "../consumer/transient.js";
import { databaseAnswerWithin } from "../health/databaseProbe.js";
import { createResultStore, type ResultStore } from "../results/resultStore.js";
import type { TaskOutcome, WriteSummary } from "../results/resultTypes.js";

/** Bind the service unless the given logger already does (a generated service's does): pino would repeat the key. */
export function workerLogger(parent: Logger, service: string): Logger {
  return parent.child(
    parent.bindings().service === service ? { component: "worker" } : { component: "worker", service },
  );
}

/** The worker's writer of result rows: group commit, up to 4 batches in flight, durable retries. */
export function resultWriter(
  config: ToolboxConfig,
  store: Pick<ResultStore, "writeMany">,
  logger: Logger,
): BatchWriter<TaskOutcome, WriteSummary> {
  return new BatchWriter<TaskOutcome, WriteSummary>({
    write: (rows) => store.writeMany(rows),
    retry: durableRetry(logger, "storing results failed; retrying (messages stay unacknowledged)"),
    batchSize: config.worker.resultBatchSize,
    waitMs: config.worker.resultBatchWaitMs,
    concurrency: Math.max(1, Math.min(4, config.database.poolSize - 1)),
    describe: (row) => `The result of ${row.taskId}`,
  });
}

/** The worker's result store: rows written under its node name, as the config's database section says. */
export function workerResultStore(config: ToolboxConfig, pool: pg.Pool, workerName: string): ResultStore {
  return createResultStore({
    pool,
    schema: config.database.schema,
    workerName,
    preparedStatements: config.database.preparedStatements,
    extended: config.database.resultExtended,
  });
}

/**
 * Prove the result store takes this worker's writes before it consumes anything: a database that refuses them
 * (not migrated, a role without the grants) would let every task run and then fail to settle. Returns that
 * refusal (the start fails with its fix); a database that only does not answer is logged and waited for as in
 * operation (results are retried).
 */
export async function storeWriteCheck(
  store: Pick<ResultStore, "checkWrites">,
  logger: Logger,
): Promise<ToolboxError | undefined> {
  try {
    await databaseAnswerWithin(store.checkWrites(), 10_000);
    return undefined;
  } catch (error) {
    if (isToolboxError(error, "DATABASE_PERMISSION_DENIED") || isToolboxError(error, "DATABASE_NOT_MIGRATED"))
      return error;
    logger.warn(
      { err: (error as Error).message },
      "the result database did not answer the write check; starting anyway (results are retried until it does)",
    );
    return undefined;
  }
}
