import { createHash } from "node:crypto";
import { ToolboxError } from "@worker-toolbox/config";
import type { Pool, PoolClient } from "pg";
import { describeDatabase, withDbErrors } from "./dbErrors.js";
import { MIGRATIONS } from "./migrations.js";
import type { Migration } from "./migrationTypes.js";
import { quoteLiteral, resultTables } from "./sqlNames.js";

export interface MigrateOptions {
  /** Schema holding the result backend; created if missing. */
  schema: string;
  /** Defaults to the migrations shipped with this package (tests pass their own). */
  migrations?: readonly Migration[];
  /** Called after each migration commits, e.g. to log it. */
  onApplied?: (migration: Migration) => void;
}

export interface MigrateResult {
  schema: string;
  /** Migrations this call applied; empty when the schema was already up to date. */
  applied: { version: number; name: string }[];
  current: number;
  latest: number;
}

export interface MigrationStatus {
  schema: string;
  /** Highest applied version; 0 when nothing was ever applied. */
  current: number;
  /** Highest version this toolbox ships. */
  latest: number;
  pending: { version: number; name: string }[];
  /** Applied versions this toolbox does not know: the database was migrated by a newer toolbox. */
  unknown: number[];
  /** Applied migrations whose SQL differs from the shipped file (files are append-only). */
  modified: number[];
  upToDate: boolean;
}

export function checksum(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

/**
 * Apply pending migrations, each in its own transaction under a transaction-scoped advisory
 * lock, so concurrent migrators serialise and the second one finds the work already done.
 * Running it again is a no-op. Nothing is created in the database unless this is called.
 */
export async function migrate(pool: Pool, options: MigrateOptions): Promise<MigrateResult> {
  const { schema } = options;
  const migrations = [...(options.migrations ?? MIGRATIONS)].sort((a, b) => a.version - b.version);
  resultTables(schema); // validate the name before connecting
  const applied: MigrateResult["applied"] = [];
  await withDbErrors(pool, schema, "migrate the result backend", async () => {
    const client = await pool.connect();
    try {
      for (const migration of migrations) {
        if (await applyOne(client, schema, migration)) {
          applied.push({ version: migration.version, name: migration.name });
          options.onApplied?.(migration);
        }
      }
    } finally {
      client.release();
    }
  });
  const status = await migrationStatus(pool, { schema, migrations });
  return { schema, applied, current: status.current, latest: status.latest };
}

async function applyOne(client: PoolClient, schema: string, migration: Migration): Promise<boolean> {
  const t = resultTables(schema);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `worker-toolbox:migrate:${schema}`,
    ]);
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when it exists.
    const { rows } = await client.query<{ has_schema: boolean }>(
      "SELECT to_regnamespace($1) IS NOT NULL AS has_schema",
      [t.schema],
    );
    if (!rows[0]?.has_schema) await client.query(`CREATE SCHEMA ${t.schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${t.ledger} (
         version integer PRIMARY KEY,
         name text NOT NULL,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query(`SELECT 1 FROM ${t.ledger} WHERE version = $1`, [migration.version]);
    if (done.rowCount === 0) {
      await client.query(`SET LOCAL search_path TO ${t.schema}`);
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${t.ledger} (version, name, checksum) VALUES ($1, $2, $3)`, [
        migration.version,
        migration.name,
        checksum(migration.sql),
      ]);
    }
    await client.query("COMMIT");
    return done.rowCount === 0;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Where the schema stands, for `worker-toolbox doctor` and `db status`. Read-only. */
export async function migrationStatus(
  pool: Pool,
  options: { schema: string; migrations?: readonly Migration[] },
): Promise<MigrationStatus> {
  const { schema } = options;
  const migrations = options.migrations ?? MIGRATIONS;
  const t = resultTables(schema);
  const appliedRows = await withDbErrors(pool, schema, "read the migration status", async () => {
    const { rows } = await pool.query<{ has_ledger: boolean }>(
      `SELECT to_regclass(${quoteLiteral(t.ledger)}) IS NOT NULL AS has_ledger`,
    );
    if (!rows[0]?.has_ledger) return [];
    const ledger = await pool.query<{ version: number; checksum: string }>(
      `SELECT version, checksum FROM ${t.ledger} ORDER BY version`,
    );
    return ledger.rows;
  });
  const known = new Map(migrations.map((m) => [m.version, m]));
  const appliedVersions = new Set(appliedRows.map((r) => r.version));
  const current = Math.max(0, ...appliedVersions);
  const latest = Math.max(0, ...known.keys());
  const pending = migrations
    .filter((m) => !appliedVersions.has(m.version))
    .map((m) => ({ version: m.version, name: m.name }));
  return {
    schema,
    current,
    latest,
    pending,
    unknown: appliedRows.filter((r) => !known.has(r.version)).map((r) => r.version),
    modified: appliedRows
      .filter((r) => known.has(r.version) && checksum(known.get(r.version)!.sql) !== r.checksum)
      .map((r) => r.version),
    upToDate: pending.length === 0,
  };
}

/** Throw DATABASE_NOT_MIGRATED unless every shipped migration is applied (worker/tracker startup). */
export async function assertMigrated(pool: Pool, schema: string): Promise<MigrationStatus> {
  const status = await migrationStatus(pool, { schema });
  if (!status.upToDate) {
    const missing = status.pending.map((m) => `${m.version} (${m.name})`).join(", ");
    throw new ToolboxError(
      "DATABASE_NOT_MIGRATED",
      `The result backend in schema "${schema}" at ${describeDatabase(pool)} is at version ${status.current}, ` +
        `this toolbox needs ${status.latest}; missing: ${missing}.`,
      { hint: "Run `worker-toolbox db migrate` (as a role that may create tables), then start again." },
    );
  }
  return status;
}
