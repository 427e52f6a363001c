import { ToolboxError } from "@worker-toolbox/config";
import type { Pool, PoolConfig } from "pg";

/** Where a pool points, as `host:port/database`, never with the password. */
export function describeDatabase(pool: Pool): string {
  const o = (pool as unknown as { options: PoolConfig }).options;
  let host = o.host;
  let port = o.port === undefined ? undefined : String(o.port);
  let database = o.database;
  if (o.connectionString) {
    try {
      const url = new URL(o.connectionString);
      host ??= decodeURIComponent(url.hostname) || url.searchParams.get("host") || undefined;
      port ??= url.port || undefined;
      database ??= decodeURIComponent(url.pathname.slice(1)) || undefined;
    } catch {
      // Not a URL (e.g. a libpq key=value string): fall back to the defaults below.
    }
  }
  return `${host ?? process.env.PGHOST ?? "localhost"}:${port ?? process.env.PGPORT ?? "5432"}/${database ?? process.env.PGDATABASE ?? "(default)"}`;
}

const UNAVAILABLE_ERRNOS = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
]);

/**
 * Translate a pg/socket error into DATABASE_UNAVAILABLE or DATABASE_NOT_MIGRATED; anything else
 * is returned unchanged so real bugs keep their original stack and SQLSTATE.
 */
export function translateDbError(error: unknown, pool: Pool, schema: string, action: string): unknown {
  const e = error as { code?: string; message?: string };
  const where = describeDatabase(pool);
  const code = e?.code ?? "";
  const unreachable =
    UNAVAILABLE_ERRNOS.has(code) ||
    code.startsWith("08") || // connection exception
    code.startsWith("28") || // invalid authorization
    code === "3D000" || // database does not exist
    code === "57P03" || // cannot connect now
    /Connection terminated|timeout exceeded when trying to connect/i.test(e?.message ?? "");
  if (unreachable) {
    return new ToolboxError(
      "DATABASE_UNAVAILABLE",
      `Cannot ${action}: PostgreSQL at ${where} is unavailable (${e?.message ?? code}).`,
      {
        cause: error,
        hint: "Check that the database is running and that the result backend URL's host, port, database and credentials are right.",
      },
    );
  }
  if (code === "42P01" || code === "3F000") {
    return new ToolboxError(
      "DATABASE_NOT_MIGRATED",
      `Cannot ${action}: the result backend tables are missing in schema "${schema}" at ${where} (${e?.message}).`,
      { cause: error, hint: "Run `worker-toolbox db migrate` against this database." },
    );
  }
  return error;
}

/** Run `fn`, translating connection and missing-table errors (see translateDbError). */
export async function withDbErrors<T>(
  pool: Pool,
  schema: string,
  action: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw translateDbError(error, pool, schema, action);
  }
}
