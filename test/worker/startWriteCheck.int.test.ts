import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantsSql } from "../../packages/runtime/src/results/index.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { implementations } from "../fixtures/workers/tasks.js";
import { testClient, testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "./harness.js";

/**
 * A worker that cannot store results must not report ready: run as the database role that does the work,
 * start() fails with the fix when the role lacks the grants or the schema was never migrated, and /readyz
 * says why while the database refuses writes, then recovers once the grants are back.
 */
const password = "worker-pass";
let h: Harness;
let suffix: string;
const pools: pg.Pool[] = [];
const workers: Worker[] = [];
const role = (kind: "worker" | "tracker") => `wt_${kind}_${suffix}`;

function poolAs(name: string): pg.Pool {
  const url = new URL(h.databaseUrl);
  url.username = name;
  url.password = password;
  const pool = testPool({ connectionString: url.toString(), max: 3 });
  pool.on("error", () => undefined);
  pools.push(pool);
  return pool;
}

function worker(pool: pg.Pool, config = h.config): Worker {
  const created = createWorker({ config, tasks: implementations, logger: testLogger, pool });
  workers.push(created);
  return created;
}

beforeAll(async () => {
  h = await createHarness("startcheck", testServers());
  suffix = new URL(h.databaseUrl).pathname.slice(1).replace(/[^a-z0-9_]/gi, "_");
  await h.pool.query(
    grantsSql({
      schema: "public",
      workerRole: role("worker"),
      trackerRole: role("tracker"),
      passwords: { worker: password, tracker: password },
    }),
  );
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close({ graceMs: 500 }).catch(() => undefined)));
  await Promise.all(pools.map((pool) => pool.end()));
  if (!h) return;
  for (const kind of ["worker", "tracker"] as const)
    await h.pool.query(`DROP OWNED BY "${role(kind)}"`).catch(() => undefined);
  const admin = testClient({ connectionString: h.databaseUrl.replace(/\/[^/]*$/, "/postgres") });
  await h.close();
  await admin.connect();
  for (const kind of ["worker", "tracker"] as const) await admin.query(`DROP ROLE IF EXISTS "${role(kind)}"`);
  await admin.end();
});

async function readyz(port: number): Promise<{ status: number; body: { ok: boolean; reason?: string } }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as { ok: boolean; reason?: string } };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("a worker that cannot store results", () => {
  it("fails to start as a role without the worker's grants: DATABASE_PERMISSION_DENIED with `db grants`", async () => {
    const refused = worker(poolAs(role("tracker")));
    const error = await refused.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DATABASE_PERMISSION_DENIED" });
    expect((error as Error).message).toContain(
      `worker-toolbox db grants --apply --worker-role ${role("tracker")}`,
    );
    expect(refused.state).toBe("failed");
  });

  it("fails to start against a schema never migrated: DATABASE_NOT_MIGRATED with `db migrate`", async () => {
    const config = { ...h.config, database: { ...h.config.database, schema: "never_migrated" } };
    const error = await worker(h.pool, config)
      .start()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DATABASE_NOT_MIGRATED" });
    expect((error as Error).message).toContain("worker-toolbox db migrate");
  });

  it("as the worker role: ready; /readyz says why while writes are refused, and recovers with the grants", async () => {
    const config = { ...h.config, worker: { ...h.config.worker, healthPort: 0, healthHost: "127.0.0.1" } };
    const running = worker(poolAs(role("worker")), config);
    await running.start();
    const port = running.healthServer!.port;
    expect((await readyz(port)).status).toBe(200);

    await h.pool.query(`REVOKE UPDATE ON public.celery_taskmeta FROM "${role("worker")}"`);
    const refused = await until(
      () => readyz(port),
      (r) => r.status === 503,
      "readiness with writes refused",
    );
    expect(refused.body.reason).toMatch(/^database: DATABASE_PERMISSION_DENIED: .*refuses it to the role/);
    expect(refused.body.reason).toContain(
      "fix: a worker's role gets its rights from `worker-toolbox db grants",
    );

    await h.pool.query(`GRANT UPDATE ON public.celery_taskmeta TO "${role("worker")}"`);
    await until(
      () => readyz(port),
      (r) => r.status === 200,
      "readiness with the grants back",
    );
  });
});
