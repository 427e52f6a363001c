/**
 * Which database role wrote each result row, recorded in the run's own database (see `writerAuditSql`).
 */
import type { Pool } from "pg";

const AUDIT_TABLE = "wt_conformance_writers";

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Record which role writes each result row, in the run's own database only: a trigger that runs as its
 * owner (SECURITY DEFINER, so the worker role needs no extra grant) and stores `session_user`, the role
 * the worker logged in as. Proves results are written under the least-privilege role, not a superuser.
 */
export function writerAuditSql(schema: string): string {
  const s = quoteIdent(schema);
  return `
CREATE TABLE ${s}.${AUDIT_TABLE} (task_id text NOT NULL, writer name NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION ${s}.wt_conformance_record_writer() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
  INSERT INTO ${s}.${AUDIT_TABLE} (task_id, writer) VALUES (NEW.task_id, session_user);
  RETURN NEW;
END $fn$;
CREATE TRIGGER wt_conformance_writer AFTER INSERT OR UPDATE ON ${s}.celery_taskmeta
  FOR EACH ROW EXECUTE FUNCTION ${s}.wt_conformance_record_writer();`;
}

/** The roles that wrote result rows, with how many writes each. */
export async function resultWriters(pool: Pool, schema: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ writer: string; writes: string }>(
    `SELECT writer, count(*) AS writes FROM ${quoteIdent(schema)}.${AUDIT_TABLE} GROUP BY writer`,
  );
  return new Map(rows.map((row) => [row.writer, Number(row.writes)]));
}
