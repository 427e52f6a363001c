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
      `GRANT USAGE ON SCHEMA ${t.schema} TO ${r};`,
    );
  }
  lines.push(...revokeTemporarySql(roles, options.keepTemporaryFor ?? []));
  const worker = quoteIdent(options.workerRole);
  const tracker = quoteIdent(options.trackerRole);
  lines.push(
    `GRANT SELECT, INSERT, UPDATE ON ${t.results} TO ${worker};`,
    `GRANT USAGE ON SEQUENCE ${t.schema}.task_id_sequence TO ${worker};`,
    `GRANT SELECT, INSERT, UPDATE ON ${t.tracking} TO ${tracker};`,
  );
  if (options.dashboardRole) {
    const dashboard = quoteIdent(options.dashboardRole);
    lines.push(
      `GRANT SELECT ON ${t.results}, ${t.groups}, ${t.tracking}, ${t.states}, ${t.failureCounts}, ${t.ledger} TO ${dashboard};`,
      `GRANT INSERT, UPDATE ON ${t.results} TO ${dashboard};`,
      `GRANT USAGE ON SEQUENCE ${t.schema}.task_id_sequence TO ${dashboard};`,
    );
  }
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
