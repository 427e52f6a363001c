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
 * Translate a pg/socket error into DATABASE_UNAVAILABLE, DATABASE_NOT_MIGRATED or
 * DATABASE_PERMISSION_DENIED; anything else is returned unchanged so real bugs keep their original stack
 * and SQLSTATE.
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
  // 42703: a column this toolbox writes is missing (a newer migration was not applied).
  if (code === "42P01" || code === "3F000" || code === "42703") {
    return new ToolboxError(
      "DATABASE_NOT_MIGRATED",
      `Cannot ${action}: the result backend tables are missing in schema "${schema}" at ${where} (${e?.message}).`,
      { cause: error, hint: "Run `worker-toolbox db migrate` against this database." },
    );
  }
  if (code === "42501") {
    const role = roleOf(pool);
    return new ToolboxError(
      "DATABASE_PERMISSION_DENIED",
      `Cannot ${action}: PostgreSQL at ${where} refuses it to the role ${role ?? "in the URL"} (${e?.message}).`,
      {
        cause: error,
        hint:
          `a worker's role gets its rights from \`worker-toolbox db grants --apply${role ? ` --worker-role ${role}` : ""}\`, ` +
          "run as the schema owner (without --apply it prints the SQL); migrate and prune run as the owner",
      },
    );
  }
  return error;
}

/** The user a pool connects as, when its config names one. */
function roleOf(pool: Pool): string | undefined {
  const o = (pool as unknown as { options: PoolConfig }).options;
  if (o.user) return o.user;
  try {
    return o.connectionString
      ? decodeURIComponent(new URL(o.connectionString).username) || undefined
      : undefined;
  } catch {
    return undefined;
  }
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
