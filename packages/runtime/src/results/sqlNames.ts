import { ToolboxError } from "@worker-toolbox/config";

/** Quote a PostgreSQL identifier (schema, table, role) so any name is safe to interpolate. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quote a string literal for SQL text that cannot use bind parameters (DDL, grants). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Fully qualified names of every object the result backend owns in `schema`. */
export interface ResultTables {
  schema: string;
  results: string;
  groups: string;
  tracking: string;
  /** Every state each task went through (appended by triggers on the results table). */
  states: string;
  /** FAILURE rows counted per hour, task and error (kept by the same triggers). */
  failureCounts: string;
  ledger: string;
  /** `regclass` text for nextval(), e.g. `'"toolbox".task_id_sequence'`. */
  taskIdSequence: string;
}

export function resultTables(schema: string): ResultTables {
  if (schema.length === 0 || Buffer.byteLength(schema) > 63) {
    throw new ToolboxError("CONFIG_INVALID", `Result schema name ${JSON.stringify(schema)} is not usable.`, {
      hint: "Use a PostgreSQL identifier of 1-63 bytes, e.g. worker_toolbox.",
    });
  }
  const s = quoteIdent(schema);
  return {
    schema: s,
    results: `${s}.celery_taskmeta`,
    groups: `${s}.celery_tasksetmeta`,
    tracking: `${s}.worker_toolbox_tasks`,
    states: `${s}.worker_toolbox_task_states`,
    failureCounts: `${s}.worker_toolbox_failure_counts`,
    ledger: `${s}.worker_toolbox_migrations`,
    taskIdSequence: quoteLiteral(`${s}.task_id_sequence`),
  };
}

/** Celery states after which a task never changes again. */
export const FINAL_STATES = ["SUCCESS", "FAILURE", "REVOKED"] as const;

/** The NOTIFY channel the results trigger (sql/000001.sql) publishes on. */
export const RESULT_CHANNEL = "worker_toolbox_result";
