import { migrate } from "@worker-toolbox/runtime/results";
import { describe, expect, it } from "vitest";
import { testPool } from "../support/database.js";
import { cli } from "./support.js";
import { opsWorld } from "./world.js";

const world = opsWorld("ops-doctor", { database: "fresh" });
const { prefix, env } = world;

interface Report {
  ok: boolean;
  services: string[];
  checks: { id: string; status: string; detail: string; hint?: string; items?: string[] }[];
}

const doctor = async (...args: string[]) => {
  const result = await cli(["doctor", "--json", ...args], env);
  return { ...result, report: JSON.parse(result.stdout) as Report };
};
const check = (report: Report, id: string) => report.checks.find((c) => c.id === id);

describe("worker-toolbox doctor", () => {
  it("finds an unmigrated database, a drifted queue and a queue without consumers", async () => {
    // Drift: billing's queue was declared by hand as a classic queue before the topology existed.
    await world.channel.assertQueue(`${prefix}.billing`, {
      durable: true,
      arguments: { "x-queue-type": "classic" },
    });
    expect((await cli(["topology", "apply", "--service", "export"], env)).code).toBe(0);

    const { code, report } = await doctor("--service", "export", "--service", "billing");
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(check(report, "config")?.status).toBe("ok");
    expect(check(report, "broker")).toMatchObject({ status: "ok" });
    expect(check(report, "database")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining('schema "public" is at version 0, this toolbox needs'),
      hint: expect.stringContaining("worker-toolbox db migrate"),
    });
    const topology = check(report, "topology");
    expect(topology?.status).toBe("fail");
    // Main's 7, and the at-least-once arguments of the drifted queue: x-dead-letter-strategy, x-overflow.
    expect(topology?.detail).toMatch(/^9 difference\(s\): /);
    expect(topology?.items).toContainEqual(
      expect.stringContaining(`queue ${prefix}.billing.dead.watch is missing`),
    );
    expect(topology?.items).toContainEqual(
      `queue ${prefix}.billing: argument x-queue-type is 'classic' on the broker but the plan says 'quorum'` +
        " — delete and re-create the queue after draining it, or set WT_QUEUE_TYPE=classic",
    );
    expect(topology?.items).toContainEqual(
      expect.stringContaining(`queue ${prefix}.billing.dead is missing`),
    );
    expect(check(report, `consumers:${prefix}.export`)).toMatchObject({
      status: "fail",
      detail: `${prefix}.export has 0 consumer(s) (fewer than 1): nothing runs its tasks`,
      hint: "start a worker of service export",
    });
    expect(check(report, `dead-letters:${prefix}.export.dead`)).toMatchObject({ status: "ok" });
    // Quorum queues on RabbitMQ < 4.3: the age is not peeked at (it would count toward the delivery limit).
    expect(check(report, `age:${prefix}.export`)?.status).toMatch(/ok|skip/);

    // The table form says the same for people.
    const text = await cli(["doctor", "--service", "export"], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/FAIL\s+database\s+schema "public" is at version 0/);
    expect(text.stdout).toContain("How to fix:");
  });

  it("exits 0 once everything is fixed, and then flags dead letters", async () => {
    const pool = testPool({ connectionString: world.db.url, max: 1 });
    await migrate(pool, { schema: "public" });
    await pool.end();
    // The hand-declared billing queue (no dead-letter sibling: not a service) would be extra drift now.
    await world.channel.deleteQueue(`${prefix}.billing`);
    // Consumers for the service queue and the platform queue (the tracker's).
    const consumer = await world.connection.createChannel();
    await consumer.consume(`${prefix}.export`, () => {});
    await consumer.consume(`${prefix}.platform`, () => {});

    // At once: consumers and ready counts are exact (passive declares), not the API's last sample.
    const healthy = await doctor("--service", "export");
    expect(healthy.code).toBe(0);
    expect(healthy.report.ok).toBe(true);
    expect(check(healthy.report, "database")?.detail).toMatch(/^schema "public" migrated to version \d+$/);
    expect(check(healthy.report, "topology")?.status).toBe("ok");
    expect(check(healthy.report, `consumers:${prefix}.export`)?.detail).toMatch(
      /^1 consumer\(s\) \(minimum 1\)/,
    );

    world.channel.publish(`${prefix}.dead`, "export", Buffer.from("[[], {}, {}]"), {
      headers: { task: "export.x", id: "dead-1" },
    });
    await world.channel.waitForConfirms();
    const flagged = await doctor("--service", "export");
    expect(flagged.code).toBe(1);
    expect(check(flagged.report, `dead-letters:${prefix}.export.dead`)).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(
        new RegExp(
          `^${prefix}\\.export\\.dead holds 1 dead letter\\(s\\) \\(worker-toolbox dlq list export\\)`,
        ),
      ),
    });
    await consumer.close();
  });

  it("warns when finished results outlive database.retentionDays (nothing prunes), until db prune runs", async () => {
    expect(check((await doctor("--service", "export")).report, "retention")).toMatchObject({
      status: "ok",
      detail: "no finished results yet",
    });
    const pool = testPool({ connectionString: world.db.url, max: 1 });
    try {
      await pool.query(
        `INSERT INTO celery_taskmeta (id, task_id, status, date_done) VALUES
           (nextval('task_id_sequence'), 'old-1', 'SUCCESS', (now() - interval '40 days') AT TIME ZONE 'UTC'),
           (nextval('task_id_sequence'), 'new-1', 'FAILURE', (now() - interval '2 days') AT TIME ZONE 'UTC')`,
      );
    } finally {
      await pool.end();
    }
    const stale = await doctor("--service", "export");
    expect(check(stale.report, "retention")).toMatchObject({
      status: "warn",
      detail: expect.stringMatching(/^the oldest finished result is 40d\S* old, past the retention 30 day/),
      hint: "schedule `worker-toolbox db prune --older-than 30d` daily (docs/results.md, Retention)",
    });
    const forever = await cli(["doctor", "--json", "--service", "export"], {
      ...env,
      WT_DATABASE_RETENTION_DAYS: "0",
    });
    expect(check(JSON.parse(forever.stdout) as Report, "retention")?.status).toBe("skip");
    // db prune without --older-than keeps database.retentionDays (30): the 40-day-old row goes.
    const pruned = await cli(["db", "prune", "--json"], env);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ olderThanMs: 30 * 86_400_000, results: 1 });
    expect(check((await doctor("--service", "export")).report, "retention")).toMatchObject({
      status: "ok",
      detail: expect.stringMatching(/^the oldest finished result is 2d\S* old \(retention 30 day/),
    });
  });

  it("finds the services on the broker when none is named", async () => {
    const { report } = await doctor();
    expect(report.services).toEqual(["export"]);
  });

  it("reports an unreachable broker with the reason, and an invalid config with exit 2", async () => {
    const down = await doctor("--amqp-url", "amqp://guest:topsecret@127.0.0.1:1/", "--service", "export");
    expect(down.code).toBe(1);
    expect(check(down.report, "broker")).toMatchObject({
      status: "fail",
      detail:
        "BROKER_UNAVAILABLE: cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1/ (connection refused)",
    });
    expect(check(down.report, "topology")?.status).toBe("skip");
    expect(down.stdout).not.toContain("topsecret");

    const invalid = await cli(["doctor", "--json", "--env-prefix", "Not Valid"], env);
    expect(invalid.code).toBe(2);
    const report = JSON.parse(invalid.stdout) as Report;
    expect(report.checks).toEqual([
      { id: "config", status: "fail", detail: expect.stringContaining("environment.prefix") },
    ]);
  });
});
