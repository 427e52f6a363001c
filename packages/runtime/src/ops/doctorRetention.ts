import type { ToolboxConfig } from "@worker-toolbox/config";
import { createDatabasePool } from "../results/pool.js";
import { resultTables } from "../results/sqlNames.js";
import { formatAge } from "./alarms.js";
import { type DoctorCheck, firstLine } from "./doctorCheck.js";

const DAY_MS = 86_400_000;

/**
 * `doctor`'s retention check: results and tracking rows are deleted only by `worker-toolbox db prune`, run
 * from a timer the deployment schedules. When nobody scheduled it the tables grow without bound, silently
 * (Celery's cleanup that only runs where celerybeat runs). A finished result older than
 * `database.retentionDays` says nobody prunes: a warning with the command that does. One indexed query
 * (status, date_done); a role that may not read the results skips the check.
 */
export async function checkRetention(config: ToolboxConfig): Promise<DoctorCheck> {
  const days = config.database.retentionDays;
  if (days === 0) {
    return {
      id: "retention",
      status: "skip",
      detail: "database.retentionDays is 0: results are kept forever",
    };
  }
  const pool = createDatabasePool(config, { max: 1 });
  try {
    const { rows } = await pool.query<{ age_ms: number | null }>(
      `SELECT (extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(date_done)) * 1000)::float8 AS age_ms
         FROM ${resultTables(config.database.schema).results}
        WHERE status IN ('SUCCESS', 'FAILURE', 'REVOKED')`,
    );
    const ageMs = rows[0]?.age_ms ?? null;
    if (ageMs === null) return { id: "retention", status: "ok", detail: "no finished results yet" };
    const kept = `retention ${days} day(s), database.retentionDays`;
    if (ageMs <= days * DAY_MS) {
      return {
        id: "retention",
        status: "ok",
        detail: `the oldest finished result is ${formatAge(ageMs)} old (${kept})`,
      };
    }
    return {
      id: "retention",
      status: "warn",
      detail: `the oldest finished result is ${formatAge(ageMs)} old, past the ${kept}: nothing prunes the results`,
      hint: `schedule \`worker-toolbox db prune --older-than ${days}d\` daily (docs/results.md, Retention)`,
    };
  } catch (error) {
    return { id: "retention", status: "skip", detail: `cannot read the results: ${firstLine(error)}` };
  } finally {
    await pool.end().catch(() => {});
  }
}
