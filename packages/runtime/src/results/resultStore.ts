import { createHash, randomUUID } from "node:crypto";
import type { Pool } from "pg";
import { byteaArray, textArray } from "./binaryArrays.js";
import { withDbErrors } from "./dbErrors.js";
import { type EncodedOutcome, encodeOutcome, latestPerTask } from "./encodeOutcome.js";
import type { TaskErrorInfo, TaskOutcome, TaskRef, WriteSummary } from "./resultTypes.js";
import { resultTables } from "./sqlNames.js";

export interface ResultStoreOptions {
  /** A pool connected as the worker role (SELECT/INSERT/UPDATE on celery_taskmeta is enough). */
  pool: Pool;
  schema: string;
  /** Stored in the `worker` column, e.g. `celery@host` style `<service>@<hostname>`. */
  workerName: string;
  /** Use a named prepared statement for the upsert (default true); `database.preparedStatements`. */
  preparedStatements?: boolean;
  /**
   * Store args and kwargs in the row (default true): Celery's result_extended, `database.resultExtended`.
   * Off, they are left NULL here (an existing row keeps what it had) and live in the tracking row.
   */
  extended?: boolean;
}

export interface ResultStore {
  markStarted(task: TaskRef): Promise<boolean>;
  markProgress(task: TaskRef, meta: unknown): Promise<boolean>;
  markRetry(task: TaskRef, error: TaskErrorInfo, eta?: Date): Promise<boolean>;
  markSuccess(task: TaskRef, result: unknown): Promise<boolean>;
  markFailure(task: TaskRef, error: TaskErrorInfo): Promise<boolean>;
  markRevoked(task: TaskRef, reason: string): Promise<boolean>;
  /**
   * Store many outcomes in one statement (one transaction). Resolves only after COMMIT, so a
   * caller may ack the messages behind these outcomes once it resolves.
   */
  writeMany(outcomes: readonly TaskOutcome[]): Promise<WriteSummary>;
  /**
   * For `idempotent: true` tasks: skip work whose success is already stored — by this run's generation or a
   * later one (a replay must run even though an earlier generation succeeded).
   */
  hasSucceeded(taskId: string, generation?: number): Promise<boolean>;
  /**
   * Prove this store can write: a probe task is stored as STARTED, then SUCCESS, with the very statement
   * every write uses, in a transaction that is rolled back (nothing stays; two result ids are drawn).
   * Rejects with DATABASE_NOT_MIGRATED, DATABASE_PERMISSION_DENIED or DATABASE_UNAVAILABLE.
   */
  checkWrites(): Promise<void>;
}

/**
 * The upsert. Precedence lives in the WHERE of DO UPDATE, so it holds across workers and
 * duplicate deliveries:
 * - a write of a higher generation (a replay) replaces the row whatever its state (the history triggers
 *   keep what it replaces), and `replayed_at` is set if the replay did not record itself first;
 * - a write of a lower generation (a late duplicate of an earlier run) never changes the row;
 * - within a generation, a final row (SUCCESS/FAILURE/REVOKED) is never changed, and a non-final write
 *   from an older attempt (lower retries) does not replace a newer one.
 * `id` comes from nextval() here because Celery's table has no server default (Celery's
 * SQLAlchemy model calls the sequence client-side); a conflict just burns a sequence value.
 */
export function upsertSql(schema: string): string {
  const t = resultTables(schema);
  const newer = "EXCLUDED.generation > t.generation";
  return `
INSERT INTO ${t.results} AS t
  (id, task_id, status, result, date_done, traceback, name, args, kwargs, worker, retries, queue,
   result_json, meta, error, started_at, updated_at, parent_id, root_id, generation, replayed_at)
SELECT nextval(${t.taskIdSequence}), u.task_id, u.status, u.result, now() AT TIME ZONE 'UTC', u.traceback,
       u.name, u.args, u.kwargs, $16, u.retries, u.queue, u.result_json::jsonb, u.meta::jsonb, u.error::jsonb,
       CASE WHEN u.status = 'STARTED' THEN now() END, now(), u.parent_id, u.root_id, u.generation,
       CASE WHEN u.generation > 0 THEN now() END
  FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::bytea[], $7::bytea[],
              $8::int[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int[])
    AS u(task_id, status, result, traceback, name, args, kwargs, retries, queue, result_json, meta, error,
         parent_id, root_id, generation)
ON CONFLICT (task_id) DO UPDATE SET
  status = EXCLUDED.status,
  result = EXCLUDED.result,
  date_done = EXCLUDED.date_done,
  traceback = EXCLUDED.traceback,
  name = COALESCE(EXCLUDED.name, t.name),
  args = COALESCE(EXCLUDED.args, t.args),
  kwargs = COALESCE(EXCLUDED.kwargs, t.kwargs),
  worker = EXCLUDED.worker,
  retries = COALESCE(EXCLUDED.retries, t.retries),
  queue = COALESCE(EXCLUDED.queue, t.queue),
  result_json = EXCLUDED.result_json,
  meta = CASE WHEN ${newer} THEN EXCLUDED.meta ELSE COALESCE(EXCLUDED.meta, t.meta) END,
  error = EXCLUDED.error,
  started_at = CASE WHEN ${newer} THEN EXCLUDED.started_at ELSE COALESCE(t.started_at, EXCLUDED.started_at) END,
  updated_at = EXCLUDED.updated_at,
  parent_id = COALESCE(EXCLUDED.parent_id, t.parent_id),
  root_id = COALESCE(EXCLUDED.root_id, t.root_id),
  replayed_at = CASE WHEN ${newer} THEN now() ELSE t.replayed_at END,
  generation = EXCLUDED.generation
WHERE ${newer}
   OR (EXCLUDED.generation = t.generation
       AND COALESCE(t.status, 'PENDING') NOT IN ('SUCCESS', 'FAILURE', 'REVOKED')
       AND (EXCLUDED.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
            OR COALESCE(EXCLUDED.retries, 0) >= COALESCE(t.retries, 0)))
RETURNING task_id`;
}

/** The unnest() arrays, in the order of $1..$15, each with its element type. */
const COLUMNS = [
  ["taskId", "text"],
  ["status", "text"],
  ["result", "bytea"],
  ["traceback", "text"],
  ["name", "text"],
  ["args", "bytea"],
  ["kwargs", "bytea"],
  ["retries", "int"],
  ["queue", "text"],
  ["resultJson", "text"],
  ["meta", "text"],
  ["error", "text"],
  ["parentId", "text"],
  ["rootId", "text"],
  ["generation", "int"],
] as const satisfies readonly (readonly [keyof EncodedOutcome, "text" | "bytea" | "int"])[];

/** The columns as JS arrays, in the order of $1..$15. */
export function columnValues(rows: readonly EncodedOutcome[]): unknown[][] {
  return COLUMNS.map(([key]) => {
    const column = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) column[i] = (rows[i] as EncodedOutcome)[key];
    return column;
  });
}

/**
 * The parameters $1..$15: text and bytea columns as binary arrays (binaryArrays.ts: the bytes go as they
 * are, no hex text), the retries and generation columns as JS arrays (a few digits of text).
 */
export function upsertParams(rows: readonly EncodedOutcome[]): unknown[] {
  return columnValues(rows).map((column, i) => {
    const type = COLUMNS[i]![1];
    if (type === "bytea") return byteaArray(column as (Buffer | null)[]);
    if (type === "text") return textArray(column as (string | null)[]);
    return column;
  });
}

export function createResultStore(options: ResultStoreOptions): ResultStore {
  const { pool, schema, workerName } = options;
  const extended = options.extended ?? true;
  const sql = upsertSql(schema);
  // A named (server-side prepared) statement: PostgreSQL parses and plans this long upsert once per
  // connection instead of for every batch, which shows in round-trip latency. The name follows the text, so
  // stores for different schemas can share a pool. A transaction-pooling PgBouncer hands each transaction to
  // any server connection, so before 1.21 (max_prepared_statements) it needs them off.
  const statement =
    options.preparedStatements === false
      ? undefined
      : `wt_upsert_${createHash("sha1").update(sql).digest("hex").slice(0, 16)}`;
  const t = resultTables(schema);

  async function writeMany(outcomes: readonly TaskOutcome[]): Promise<WriteSummary> {
    if (outcomes.length === 0) return { written: [], unchanged: [], stored: () => false };
    // Encode everything first: a value that cannot be stored fails here, before any SQL.
    const chosen = latestPerTask(outcomes);
    const rows = chosen.map((o) => encodeOutcome(o, workerName, extended));
    const result = await withDbErrors(pool, schema, `store ${rows.length} task result(s)`, () =>
      // An undefined name is an unnamed statement (pg prepares only named ones).
      pool.query<{ task_id: string }>({
        name: statement,
        text: sql,
        values: [...upsertParams(rows), workerName],
      }),
    );
    const written = new Set(result.rows.map((r) => r.task_id));
    const ids = [...new Set(outcomes.map((o) => o.taskId))];
    return {
      written: ids.filter((id) => written.has(id)),
      unchanged: ids.filter((id) => !written.has(id)),
      // Asked only by the dead-letter watch: nothing is worked out per row until then.
      stored: (outcome) =>
        written.has(outcome.taskId) && (chosen.length === outcomes.length || chosen.includes(outcome)),
    };
  }

  const one = async (outcome: TaskOutcome) => (await writeMany([outcome])).written.length === 1;

  return {
    writeMany,
    markStarted: (task) => one({ ...task, state: "STARTED" }),
    markProgress: (task, meta) => one({ ...task, state: "PROGRESS", meta }),
    markRetry: (task, error, eta) => one({ ...task, state: "RETRY", error, ...(eta ? { eta } : {}) }),
    markSuccess: (task, result) => one({ ...task, state: "SUCCESS", result }),
    markFailure: (task, error) => one({ ...task, state: "FAILURE", error }),
    markRevoked: (task, reason) => one({ ...task, state: "REVOKED", reason }),
    async checkWrites() {
      const taskId = `worker-toolbox-write-check-${randomUUID()}`;
      const probe: TaskOutcome[] = [
        { taskId, state: "STARTED" },
        { taskId, state: "SUCCESS", result: null },
      ];
      await withDbErrors(pool, schema, "store a task result", async () => {
        const client = await pool.connect();
        let broken: Error | undefined;
        try {
          await client.query("BEGIN");
          for (const outcome of probe) {
            const values = [...upsertParams([encodeOutcome(outcome, workerName, extended)]), workerName];
            await client.query({ text: sql, values });
          }
        } finally {
          await client.query("ROLLBACK").catch((error: Error) => {
            broken = error;
          });
          // A connection that cannot even roll back is dropped, not handed back to the pool.
          client.release(broken);
        }
      });
    },
    async hasSucceeded(taskId, generation = 0) {
      const { rowCount } = await withDbErrors(pool, schema, "check for a stored success", () =>
        pool.query(
          `SELECT 1 FROM ${t.results} WHERE task_id = $1 AND status = 'SUCCESS' AND generation >= $2`,
          [taskId, generation],
        ),
      );
      return rowCount === 1;
    },
  };
}
