import { grantsSql } from "@worker-toolbox/runtime/results";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testClient, testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";
import { cli } from "./support.js";
import { opsWorld } from "./world.js";

/**
 * `doctor` checks the database as the roles that do the work: a grant revoked from the worker role makes it
 * fail naming the grant and the GRANT line that fixes it — whether doctor runs as a superuser (it acts as the
 * role) or with the worker's own DATABASE_URL.
 */
const { databaseUrl } = testServers();
const world = opsWorld("ops-grants", {
  database: "migrated",
  channel: false,
  apply: ["export"],
  // No workers run here: consumers are not what this file checks.
  env: { WT_MONITOR_THRESHOLDS_MIN_CONSUMERS: "0" },
});
const { env } = world;
let pool: pg.Pool;
let worker: string;
let tracker: string;

interface Check {
  id: string;
  status: string;
  detail: string;
  hint?: string;
  items?: string[];
}

const doctor = async (extraEnv: Record<string, string | undefined> = {}, ...args: string[]) => {
  const result = await cli(["doctor", "--json", "--service", "export", ...args], { ...env, ...extraEnv });
  const report = JSON.parse(result.stdout) as { ok: boolean; checks: Check[] };
  return { code: result.code, report, check: (id: string) => report.checks.find((c) => c.id === id) };
};

const asRole = (role: string) => {
  const url = new URL(world.db.url);
  url.username = role;
  url.password = "pw";
  return url.toString();
};

beforeAll(async () => {
  pool = testPool({ connectionString: world.db.url, max: 1 });
  worker = `wt_worker_${world.db.name}`;
  tracker = `wt_tracker_${world.db.name}`;
  await pool.query(
    grantsSql({
      schema: "public",
      workerRole: worker,
      trackerRole: tracker,
      passwords: { worker: "pw", tracker: "pw" },
    }),
  );
});

afterAll(async () => {
  if (pool) {
    for (const role of [worker, tracker]) await pool.query(`DROP OWNED BY "${role}"`).catch(() => {});
    await pool.end();
  }
  // The world drops the database afterwards; DROP OWNED left the roles nothing in it.
  const admin = testClient({ connectionString: databaseUrl });
  await admin.connect();
  for (const role of [worker, tracker]) await admin.query(`DROP ROLE IF EXISTS "${role}"`);
  await admin.end();
});

describe("doctor checks the roles that do the work", () => {
  it("passes with the grants `db grants` gives, as a superuser and as the worker role itself", async () => {
    const admin = await doctor({}, "--worker-role", worker, "--tracker-role", tracker);
    expect(admin.check(`grants:${worker}`)).toMatchObject({
      status: "ok",
      detail: `${worker} has every grant the worker needs, and a result write succeeded (as ${worker}, via SET ROLE) (rolled back)`,
    });
    expect(admin.check(`grants:${tracker}`)?.status).toBe("ok");
    expect(admin.code, JSON.stringify(admin.report.checks)).toBe(0);

    const self = await doctor({ DATABASE_URL: asRole(worker) });
    expect(self.check("database")?.status).toBe("ok"); // the worker role may read the migration ledger
    expect(self.check(`grants:${worker}`)).toMatchObject({ status: "ok" });
    expect(self.code).toBe(0);
    // The probe rolled back: nothing was left behind.
    expect((await pool.query("SELECT count(*)::int AS n FROM celery_taskmeta")).rows[0].n).toBe(0);
  });

  it("fails naming a revoked grant and the GRANT line that fixes it", async () => {
    await pool.query(`REVOKE INSERT ON public.celery_taskmeta FROM "${worker}"`);
    const fix = `GRANT SELECT, INSERT, UPDATE ON "public".celery_taskmeta TO "${worker}";`;

    const admin = await doctor({}, "--worker-role", worker);
    expect(admin.code).toBe(1);
    expect(admin.check("database")?.status).toBe("ok"); // as the superuser, the schema itself is fine
    const grants = admin.check(`grants:${worker}`);
    expect(grants).toMatchObject({
      status: "fail",
      detail: `${worker} lacks INSERT on "public".celery_taskmeta`,
    });
    expect(grants?.items).toEqual([
      `missing INSERT on "public".celery_taskmeta (task results cannot be stored) — fix: ${fix}`,
      expect.stringMatching(
        /^a result write \(as .+, via SET ROLE\) failed: permission denied for table celery_taskmeta$/,
      ),
    ]);
    expect(grants?.hint).toContain(`worker-toolbox db grants --apply --worker-role ${worker}`);

    const self = await doctor({ DATABASE_URL: asRole(worker) });
    expect(self.code).toBe(1);
    expect(self.check(`grants:${worker}`)?.items?.[0]).toContain(fix);

    const text = await cli(["doctor", "--service", "export", "--worker-role", worker], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`FAIL\\s+grants:${worker}\\s+${worker} lacks INSERT`));
    expect(text.stdout).toContain(fix);

    // The fix it names works.
    await pool.query(fix);
    expect((await doctor({}, "--worker-role", worker)).code).toBe(0);
  });

  it("names the ledger grant when the worker role cannot read the schema version", async () => {
    await pool.query(`REVOKE SELECT ON public.worker_toolbox_migrations FROM "${worker}"`);
    const self = await doctor({ DATABASE_URL: asRole(worker) });
    expect(self.code).toBe(1);
    expect(self.check("database")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("permission denied for table worker_toolbox_migrations"),
      hint: expect.stringContaining(`GRANT SELECT ON "public".worker_toolbox_migrations TO "${worker}";`),
    });
    await pool.query(`GRANT SELECT ON public.worker_toolbox_migrations TO "${worker}"`);
  });

  it("warns that it cannot tell the workers' role when run as a superuser and none is named", async () => {
    const { check } = await doctor();
    expect(check("grants:worker_toolbox_worker")).toMatchObject({
      status: "warn",
      hint: "pass --worker-role <role>, or run doctor with the worker's own DATABASE_URL",
    });
  });
});
