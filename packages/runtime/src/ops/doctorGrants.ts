import { randomUUID } from "node:crypto";
import type { ToolboxConfig } from "@worker-toolbox/config";
import type { Pool, PoolClient } from "pg";
import { type RequiredGrant, requiredGrants } from "../results/grants.js";
import { createDatabasePool } from "../results/pool.js";
import { quoteIdent, resultTables } from "../results/sqlNames.js";
import { type DoctorCheck, firstLine } from "./doctorCheck.js";

/**
 * `doctor`'s checks of the database as the identity that does the work. A superuser passes every check, so
 * "database ok" as the operator proves nothing about the worker: here each role the toolbox runs as is
 * checked for every grant `worker-toolbox db grants` gives it (`has_*_privilege`, one finding per missing
 * grant with the exact GRANT line that fixes it), and then does what it does for real — an upsert of a
 * result row (or a tracking row) and a read of the migration ledger — inside a transaction that is rolled
 * back. Run with the worker's own DATABASE_URL it checks that role; run as a superuser it acts as the
 * named roles (`SET LOCAL ROLE`).
 */
export interface GrantCheckOptions {
  /** Role the workers connect as; default the doctor's own role, or `worker_toolbox_worker` for a superuser. */
  workerRole?: string;
  /** Role the tracker connects as; default `worker_toolbox_tracker` when the doctor runs as a superuser. */
  trackerRole?: string;
}

const DEFAULT_ROLES = { worker: "worker_toolbox_worker", tracker: "worker_toolbox_tracker" } as const;

export async function checkRoleGrants(
  config: ToolboxConfig,
  options: GrantCheckOptions,
): Promise<DoctorCheck[]> {
  const pool = createDatabasePool(config, { max: 1 });
  try {
    const { rows } = await pool.query<{ me: string; superuser: boolean; migrated: boolean }>(
      `SELECT current_user AS me, rolsuper AS superuser,
              to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS migrated
         FROM pg_roles WHERE rolname = current_user`,
      [resultTables(config.database.schema).results, resultTables(config.database.schema).tracking],
    );
    const { me, superuser, migrated } = rows[0]!;
    if (!migrated)
      return [{ id: "grants", status: "skip", detail: "the result tables do not exist yet (see database)" }];
    const targets: { purpose: RequiredGrant["purpose"]; role: string; explicit: boolean }[] = [
      {
        purpose: "worker",
        role: options.workerRole ?? (superuser ? DEFAULT_ROLES.worker : me),
        explicit: options.workerRole !== undefined || !superuser,
      },
    ];
    if (options.trackerRole !== undefined || superuser) {
      targets.push({
        purpose: "tracker",
        role: options.trackerRole ?? DEFAULT_ROLES.tracker,
        explicit: options.trackerRole !== undefined,
      });
    }
    const checks: DoctorCheck[] = [];
    for (const target of targets) checks.push(await checkRole(pool, config, me, target));
    return checks;
  } catch (error) {
    return [{ id: "grants", status: "fail", detail: firstLine(error) }];
  } finally {
    await pool.end().catch(() => {});
  }
}

async function checkRole(
  pool: Pool,
  config: ToolboxConfig,
  me: string,
  target: { purpose: RequiredGrant["purpose"]; role: string; explicit: boolean },
): Promise<DoctorCheck> {
  const { purpose, role } = target;
  const id = `grants:${role}`;
  const { rowCount } = await pool.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
  if (rowCount === 0) {
    return target.explicit
      ? {
          id,
          status: "fail",
          detail: `the ${purpose} role ${role} does not exist`,
          hint: "create it with `worker-toolbox db grants --apply` (see docs/results.md)",
        }
      : {
          id,
          status: purpose === "worker" ? "warn" : "skip",
          detail:
            `doctor runs as the superuser ${me}, and no role ${role} exists, so the ${purpose}'s privileges ` +
            "cannot be checked",
          hint: `pass --${purpose}-role <role>, or run doctor with the ${purpose}'s own DATABASE_URL`,
        };
  }
  const grants = requiredGrants({
    schema: config.database.schema,
    workerRole: role,
    trackerRole: role,
  }).filter((grant) => grant.purpose === purpose);
  const missing = await missingPrivileges(pool, role, grants);
  const probe = await probeWrite(pool, config, me, role, purpose);
  const as = role === me ? "" : ` (as ${role}, via SET ROLE)`;
  if (missing.length === 0 && probe.ok) {
    return {
      id,
      status: "ok",
      detail: `${role} has every grant the ${purpose} needs, and a ${probe.what} succeeded${as} (rolled back)`,
    };
  }
  if (missing.length === 0 && probe.skipped) {
    return { id, status: "ok", detail: `${role} has every grant the ${purpose} needs (${probe.skipped})` };
  }
  const items = missing.map(
    ({ grant, privilege }) => `missing ${privilege} on ${grant.object} (${grant.why}) — fix: ${grant.sql}`,
  );
  if (probe.error) items.push(`a ${probe.what}${as} failed: ${probe.error}`);
  return {
    id,
    status: "fail",
    detail:
      missing.length > 0
        ? `${role} lacks ${missing.map(({ grant, privilege }) => `${privilege} on ${grant.object}`).join(", ")}`
        : `${role} has the grants, but a ${probe.what} failed: ${probe.error}`,
    items,
    hint:
      missing.length > 0
        ? `run the GRANT line(s) above, or re-apply every grant: worker-toolbox db grants --apply --${purpose}-role ${role}`
        : "check row-level security policies and triggers on the table for this role",
  };
}

async function missingPrivileges(
  pool: Pool,
  role: string,
  grants: readonly RequiredGrant[],
): Promise<{ grant: RequiredGrant; privilege: string }[]> {
  const out: { grant: RequiredGrant; privilege: string }[] = [];
  for (const grant of grants) {
    for (const privilege of grant.privileges) {
      const fn = `has_${grant.objectType}_privilege`;
      const { rows } = await pool.query<{ ok: boolean }>(`SELECT ${fn}($1, $2, $3) AS ok`, [
        role,
        grant.checkName,
        privilege,
      ]);
      if (!rows[0]?.ok) out.push({ grant, privilege });
    }
  }
  return out;
}

interface ProbeResult {
  ok: boolean;
  what: string;
  error?: string;
  skipped?: string;
}

/** The role's real statements in a transaction that is always rolled back (a sequence value is burnt). */
async function probeWrite(
  pool: Pool,
  config: ToolboxConfig,
  me: string,
  role: string,
  purpose: RequiredGrant["purpose"],
): Promise<ProbeResult> {
  const t = resultTables(config.database.schema);
  const what = purpose === "worker" ? "result write" : "tracking write";
  const client: PoolClient = await pool.connect();
  try {
    await client.query("BEGIN");
    if (role !== me) {
      try {
        await client.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
      } catch (error) {
        return {
          ok: false,
          what,
          skipped: `write not probed: ${me} may not act as ${role} (${firstLine(error)})`,
        };
      }
    }
    const id = `wt-doctor-probe-${randomUUID()}`;
    try {
      if (purpose === "worker") {
        await client.query(
          `INSERT INTO ${t.results} AS r (id, task_id, status, date_done, updated_at)
           VALUES (nextval(${t.taskIdSequence}), $1, 'PENDING', now() AT TIME ZONE 'UTC', now())
           ON CONFLICT (task_id) DO UPDATE SET status = EXCLUDED.status WHERE r.status IS NULL RETURNING task_id`,
          [id],
        );
      } else {
        await client.query(
          `INSERT INTO ${t.tracking} AS k (task_id, name) VALUES ($1, 'doctor.probe')
           ON CONFLICT (task_id) DO UPDATE SET updated_at = now() RETURNING task_id`,
          [id],
        );
      }
      await client.query(`SELECT version FROM ${t.ledger} ORDER BY version DESC LIMIT 1`);
      return { ok: true, what };
    } catch (error) {
      return { ok: false, what, error: firstLine(error) };
    }
  } finally {
    await client.query("ROLLBACK").catch(() => {});
    client.release();
  }
}

/** The fix for a role that may not read the migration ledger (doctor's database check as the worker). */
export function ledgerHint(config: ToolboxConfig, role: string): string {
  const grant = requiredGrants({ schema: config.database.schema, workerRole: role, trackerRole: role }).find(
    (item) => item.object === resultTables(config.database.schema).ledger,
  );
  return `the role may not read the migration ledger — fix: ${grant?.sql ?? ""} (or worker-toolbox db grants --apply)`;
}
