import type { Pool } from "pg";
import { tables } from "./tables.js";

/**
 * Every distinct task name in the tracking table, sorted: a loose index scan (one probe of the name index
 * per distinct name) instead of a DISTINCT over every row, so it stays fast with millions of tasks.
 */
export async function listTaskNames(pool: Pool, schema: string): Promise<string[]> {
  const t = tables(schema);
  const { rows } = await pool.query<{ name: string }>(
    `WITH RECURSIVE names AS (
       (SELECT name FROM ${t.tracking} ORDER BY name LIMIT 1)
       UNION ALL
       SELECT (SELECT k.name FROM ${t.tracking} k WHERE k.name > n.name ORDER BY k.name LIMIT 1)
         FROM names n WHERE n.name IS NOT NULL
     )
     SELECT name FROM names WHERE name IS NOT NULL`,
  );
  return rows.map((row) => row.name);
}

/** The names a task filter stands for: a versioned name itself; an unversioned one, every version of it. */
export async function versionsOf(pool: Pool, schema: string, task: string): Promise<string[]> {
  if (/\.v[1-9][0-9]*$/.test(task)) return [task];
  const versions = (await listTaskNames(pool, schema)).filter((name) => isVersionOf(name, task));
  return [task, ...versions];
}

export function isVersionOf(name: string, task: string): boolean {
  return name.startsWith(`${task}.v`) && /^[1-9][0-9]*$/.test(name.slice(task.length + 2));
}
