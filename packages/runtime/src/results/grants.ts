import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { quoteIdent, quoteLiteral, resultTables } from "./sqlNames.js";

export interface GrantsOptions {
  schema: string;
  /** Role workers connect as: may only read/insert/update results and draw result ids. */
  workerRole: string;
  /** Role the tracker connects as: may only read/insert/update the tracking table. */
  trackerRole: string;
  /**
   * Role the dashboard connects as: reads results, tracking rows and task history; writes only the
   * REVOKED rows a revocation records (replays and purges go through the broker, not the database).
   */
  dashboardRole?: string;
  /**
   * Set these roles' passwords. They go into the SQL as SCRAM-SHA-256 verifiers, never as plain
   * text, so the generated SQL can be logged or committed without leaking them.
   */
  passwords?: { worker?: string; tracker?: string; dashboard?: string };
  /**
   * Other roles that create temporary tables in this database: they are granted TEMPORARY by name, since
   * it is taken from PUBLIC (the owner and superusers keep it anyway).
   */
  keepTemporaryFor?: readonly string[];
}

/**
 * SQL that creates the least-privilege roles (worker, tracker and, when named, dashboard) if missing and (re)sets exactly their rights
 * on the result schema: everything they had there is revoked first, so running it again, or
 * after a migration adds tables, always converges on the same grants (as Cadasta re-applied
 * its `worker` grants after every migration). Run it as the schema owner or a superuser.
 */
export function grantsSql(options: GrantsOptions): string {
  const t = resultTables(options.schema);
  const lines: string[] = [
    `-- worker-toolbox: least-privilege roles for schema ${t.schema}`,
    ...roleSql(options.workerRole, options.passwords?.worker),
    ...roleSql(options.trackerRole, options.passwords?.tracker),
    ...(options.dashboardRole ? roleSql(options.dashboardRole, options.passwords?.dashboard) : []),
  ];
  const roles = [
    options.workerRole,
    options.trackerRole,
    ...(options.dashboardRole ? [options.dashboardRole] : []),
  ];
  for (const role of roles) {
    const r = quoteIdent(role);
    lines.push(
      `REVOKE ALL ON ALL TABLES IN SCHEMA ${t.schema} FROM ${r};`,
      `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${t.schema} FROM ${r};`,
      `REVOKE ALL ON SCHEMA ${t.schema} FROM ${r};`,
    );
  }
  lines.push(...revokeTemporarySql(roles, options.keepTemporaryFor ?? []));
  for (const grant of requiredGrants(options)) lines.push(grant.sql);
  return `${lines.join("\n")}\n`;
}

/**
 * PostgreSQL gives PUBLIC the TEMPORARY privilege on every database, so any role may `CREATE TEMP TABLE`
 * (and fill the disk with it); revoking it from one role changes nothing while PUBLIC has it. So it is
 * revoked from PUBLIC: the database owner and superusers keep it, roles named in `keepTemporaryFor` get it
 * by name, and the least-privilege roles have it revoked explicitly too (in case it was granted to them).
 * Granting it back to every existing role instead was tried and dropped: each such grant is a dependency
 * that makes an unrelated role impossible to DROP until it is revoked again.
 */
function revokeTemporarySql(roles: readonly string[], keep: readonly string[]): string[] {
  const each = (verb: string, names: readonly string[]) =>
    names.map((role) => `  EXECUTE format('${verb}', db, ${quoteLiteral(role)});`);
  return [
    `DO $do$
DECLARE
  db text := current_database();
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', db);
${[...each("REVOKE TEMPORARY ON DATABASE %I FROM %I", roles), ...each("GRANT TEMPORARY ON DATABASE %I TO %I", keep)].join("\n")}
END $do$;`,
  ];
}

/** One privilege set a role needs on one object, with the `GRANT` line of `grantsSql` that gives it. */
export interface RequiredGrant {
  role: string;
  /** Which toolbox role this is: the worker's (results), the tracker's (tracking rows), the dashboard's. */
  purpose: "worker" | "tracker" | "dashboard";
  objectType: "table" | "sequence" | "schema";
  /** Qualified, quoted name as it appears in the SQL. */
  object: string;
  /** The name `has_<objectType>_privilege()` takes (a schema's is not quoted). */
  checkName: string;
  privileges: readonly ("SELECT" | "INSERT" | "UPDATE" | "USAGE")[];
  /** What breaks without it, for reports. */
  why: string;
  /** The exact line `worker-toolbox db grants` prints for it. */
  sql: string;
}

/**
 * Every grant the roles need, in the order `grantsSql` emits them: the one list both the SQL and
 * `worker-toolbox doctor`'s privilege check are made from. The worker and the tracker read the migration
 * ledger so a worker (or the doctor run with the worker's DATABASE_URL) can tell whether the schema is up to
 * date. The dashboard reads results, tracking rows and task history, and writes only the REVOKED rows a
 * revocation records.
 */
export function requiredGrants(
  options: Pick<GrantsOptions, "schema" | "workerRole" | "trackerRole" | "dashboardRole">,
): RequiredGrant[] {
  const t = resultTables(options.schema);
  const out: RequiredGrant[] = [];
  const add = (
    role: string,
    purpose: RequiredGrant["purpose"],
    objectType: RequiredGrant["objectType"],
    object: string,
    privileges: RequiredGrant["privileges"],
    why: string,
  ) => {
    const on = objectType === "table" ? object : `${objectType.toUpperCase()} ${object}`;
    out.push({
      role,
      purpose,
      objectType,
      object,
      checkName: objectType === "schema" ? options.schema : object,
      privileges,
      why,
      sql: `GRANT ${privileges.join(", ")} ON ${on} TO ${quoteIdent(role)};`,
    });
  };
  const roles: [string, RequiredGrant["purpose"]][] = [
    [options.workerRole, "worker"],
    [options.trackerRole, "tracker"],
    ...(options.dashboardRole ? [[options.dashboardRole, "dashboard"] as [string, "dashboard"]] : []),
  ];
  for (const [role, purpose] of roles)
    add(role, purpose, "schema", t.schema, ["USAGE"], "nothing in the schema can be reached");
  const { workerRole: worker, trackerRole: tracker, dashboardRole: dashboard } = options;
  add(worker, "worker", "table", t.results, ["SELECT", "INSERT", "UPDATE"], "task results cannot be stored");
  add(worker, "worker", "sequence", `${t.schema}.task_id_sequence`, ["USAGE"], "new result rows get no id");
  add(worker, "worker", "table", t.ledger, ["SELECT"], "the schema version cannot be checked");
  add(
    tracker,
    "tracker",
    "table",
    t.tracking,
    ["SELECT", "INSERT", "UPDATE"],
    "scheduled tasks are not recorded",
  );
  add(tracker, "tracker", "table", t.ledger, ["SELECT"], "the schema version cannot be checked");
  if (dashboard) {
    for (const table of [t.results, t.groups, t.tracking, t.states, t.failureCounts, t.ledger])
      add(dashboard, "dashboard", "table", table, ["SELECT"], "the dashboard cannot show it");
    add(dashboard, "dashboard", "table", t.results, ["INSERT", "UPDATE"], "revocations cannot be recorded");
    add(
      dashboard,
      "dashboard",
      "sequence",
      `${t.schema}.task_id_sequence`,
      ["USAGE"],
      "revocations get no id",
    );
  }
  return out;
}

function roleSql(role: string, password: string | undefined): string[] {
  const r = quoteIdent(role);
  // CREATE ROLE has no IF NOT EXISTS; the DO block makes it idempotent. The password is set
  // outside the block so no verifier ends up inside a dollar-quoted string.
  const lines = [
    `DO $do$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}) THEN
    CREATE ROLE ${r} LOGIN;
  END IF;
END $do$;`,
    `ALTER ROLE ${r} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;`,
  ];
  if (password !== undefined)
    lines.push(`ALTER ROLE ${r} WITH PASSWORD ${quoteLiteral(scramVerifier(password))};`);
  return lines;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, the format of
 * pg_authid.rolpassword). PostgreSQL accepts it in ALTER ROLE ... PASSWORD as already hashed.
 * Non-ASCII passwords are NFKC-normalised, which matches SASLprep for ordinary text.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const normalised = /^[\x20-\x7e]*$/.test(password) ? password : password.normalize("NFKC");
  const salted = pbkdf2Sync(normalised, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
