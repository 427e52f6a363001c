/**
 * The run's database set-up: the result tables migrated by the suite, the writer audit, and two
 * least-privilege roles from `grantsSql` (the worker logs in as one), dropped again at the end.
 */
import { randomBytes } from "node:crypto";
import type { ToolboxConfig } from "@worker-toolbox/config";
import { createDatabasePool, grantsSql, migrate } from "@worker-toolbox/runtime/results";
import type { Pool } from "pg";
import { withDatabaseUrl } from "./runConfig.js";
import { writerAuditSql } from "./writerAudit.js";

export interface RunRoles {
  workerRole: string;
  trackerRole: string;
}

/** Fresh role names, known before they are created so a failed set-up still drops them. */
export function runRoleNames(): RunRoles {
  const suffix = randomBytes(4).toString("hex");
  return { workerRole: `wt_conf_${suffix}_worker`, trackerRole: `wt_conf_${suffix}_tracker` };
}

/** Migrate, install the writer audit and create the roles; returns the worker role's database URL. */
export async function installRunDatabase(
  adminPool: Pool,
  schema: string,
  databaseUrl: string,
  roles: RunRoles,
): Promise<string> {
  await migrate(adminPool, { schema });
  const password = randomBytes(12).toString("hex");
  await adminPool.query(writerAuditSql(schema));
  await adminPool.query(grantsSql({ schema, ...roles, passwords: { worker: password } }));
  // Privileges apply whatever the server's auth method, so the role is enforced even on trust auth.
  const workerUrl = new URL(databaseUrl);
  workerUrl.username = roles.workerRole;
  workerUrl.password = password;
  return workerUrl.toString();
}

/** Drop the roles (they are cluster-wide: dropping the run's database leaves them behind). */
export async function dropRunRoles(
  config: ToolboxConfig,
  adminUrl: string,
  roles: readonly (string | undefined)[],
): Promise<void> {
  const pool = createDatabasePool(withDatabaseUrl(config, adminUrl), { max: 1 });
  try {
    for (const role of roles) if (role) await pool.query(`DROP ROLE IF EXISTS "${role}"`);
  } finally {
    await pool.end();
  }
}
