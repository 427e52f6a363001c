import { MIGRATIONS } from "@worker-toolbox/runtime/results";
import { createTestDatabase, type TestDatabase } from "@worker-toolbox/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliCaptured } from "../support/cli.js";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";

let database: TestDatabase;

const run = (...args: string[]) => runCliCaptured(args, { DATABASE_URL: database.url });

beforeAll(async () => {
  database = await createTestDatabase(testServers().databaseUrl, "clidb");
});

afterAll(async () => {
  await database?.drop();
});

describe("worker-toolbox db", () => {
  it("status exits 1 before migrating and 0 after; migrate twice is a no-op", async () => {
    expect((await run("db", "status")).code).toBe(1);
    // A script reads the same verdict: JSON on stdout, and the exit code.
    const pendingJson = await run("db", "status", "--json");
    expect(pendingJson.code).toBe(1);
    expect(JSON.parse(pendingJson.stdout)).toMatchObject({ current: 0, upToDate: false });
    expect(JSON.parse(pendingJson.stdout).pending).toHaveLength(MIGRATIONS.length);
    const first = await run("db", "migrate");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("applied 000001");
    expect(first.stdout).toContain("applied 000002");
    const again = await run("db", "migrate", "--json");
    const latest = MIGRATIONS.at(-1)!.version;
    expect(JSON.parse(again.stdout)).toMatchObject({ applied: [], current: latest, latest });
    expect((await run("db", "status")).code).toBe(0);
    const doneJson = await run("db", "status", "--json");
    expect(doneJson.code).toBe(0);
    expect(JSON.parse(doneJson.stdout)).toMatchObject({
      current: latest,
      latest,
      upToDate: true,
      pending: [],
    });
  });

  it("grants --apply creates a worker role that can write results but not read tracking rows", async () => {
    const applied = await run(
      "db",
      "grants",
      "--apply",
      "--worker-role",
      "cli_worker",
      "--tracker-role",
      "cli_tracker",
      "--dashboard-role",
      "cli_dashboard",
    );
    expect(applied.code).toBe(0);
    const pool = testPool({ connectionString: database.url });
    const client = await pool.connect();
    try {
      await client.query("set role cli_worker");
      await client.query(
        "insert into celery_taskmeta (id, task_id, status) values (nextval('task_id_sequence'), 'cli-grants-1', 'SUCCESS')",
      );
      await expect(client.query("select * from worker_toolbox_tasks")).rejects.toMatchObject({
        code: "42501",
      });
      await expect(client.query("delete from celery_taskmeta")).rejects.toMatchObject({ code: "42501" });
    } finally {
      await client.query("reset role").catch(() => undefined);
      client.release();
      await pool.end();
    }
  });

  it("prune reports progress: lines with rate on stderr when not on a terminal", async () => {
    const pool = testPool({ connectionString: database.url, max: 1 });
    try {
      await pool.query(
        `INSERT INTO celery_taskmeta (id, task_id, status, date_done)
         SELECT nextval('task_id_sequence'), 'old-' || n, 'SUCCESS', (now() - interval '40 days') AT TIME ZONE 'UTC'
           FROM generate_series(1, 250) n`,
      );
    } finally {
      await pool.end();
    }
    const pruned = await run("db", "prune", "--older-than", "30d", "--batch-size", "100");
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain("Deleted 250 finished results");
    expect(pruned.stderr).toMatch(/^prune: 250\/250 results \(\d+\/s\), 0 tracking rows\n$/m);
    const again = await run("db", "prune", "--older-than", "30d", "--json");
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ olderThanMs: 30 * 86_400_000, results: 0 });
  });

  it("prune rejects a malformed duration with exit 2", async () => {
    const result = await run("db", "prune", "--older-than", "30x");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("not a duration");
  });
});
