import { randomBytes } from "node:crypto";
import type { ConformanceRunNames } from "@worker-toolbox/conformance";
import { createManagementClient } from "@worker-toolbox/runtime/topology";
import { beforeAll, describe, expect, it } from "vitest";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";
import { type CaseResult, type FixtureRun, runFixtures } from "./runFixtures.js";

/**
 * The conformance suite tested the way a service runs it: inside a vitest run (a child process), against
 * a good fixture service and deliberately broken ones (test/fixtures/services/*). Each broken fixture
 * must fail exactly its intended cases, with a message that names the problem and the fix; cases that
 * need a worker that could not start are skipped, so one root cause gives one or two failures, not twenty.
 */
const TASKS = ["reports.render.v1", "reports.email", "reports.cleanup"];

const START = "starts the worker with the run config and reports ready";
const EXCHANGE = "declares the task exchange <prefix>.tasks as a durable topic exchange";
const EVENTS = "declares the events exchange <prefix>.celeryev as a durable topic exchange (Celery events)";
const CONTROL =
  "declares Celery's control exchange <prefix>.celery.pidbox (fanout) that revocations go through";
const SERVICE_QUEUE =
  "declares the service queue <prefix>.reports with the planned type and arguments, bound with reports.#";
const PLATFORM = "declares the platform queue <prefix>.platform bound with # (a copy of every task)";
const COVERAGE = "has a handler for every contract and a contract for every handler";
const EXTRAS = "declares nothing under <prefix> beyond the plan (no extra bindings, queues or exchanges)";
const ROUTES = TASKS.map((task) => `routes ${task} to exactly {reports, platform}`);
const ROUND_TRIPS = TASKS.map((task) => `runs ${task} end to end: send → worker → SUCCESS row`);
const ROLE = "writes results as the least-privilege worker role (worker-toolbox db grants)";
const RETRIES = "retries a task that throws with growing delays, 3 attempts in all";
const DEAD_LETTER =
  "dead-letters it after the last attempt with reason retries-exhausted and stores a FAILURE row";
const POISON = "dead-letters a poison message (invalid JSON) with reason malformed and keeps running";
const EXPIRED = "does not run an expired task and records it REVOKED";
const CHAIN = "runs a chain: the worker sends the next step, with the first as its parent and root";
const ERRBACK = "calls a failed task's link_error errback with the failed task's id";
const DRAIN =
  "drains in-flight work on close() (SIGTERM): the running task finishes and its row is stored, or its message returns to the queue";

let run: FixtureRun;

beforeAll(async () => {
  run = await runFixtures(testServers());
}, 600_000);

function cases(fixture: string): CaseResult[] {
  const found = run.fixtures.get(fixture);
  if (!found) throw new Error(`fixture ${fixture} did not run:\n${run.output.slice(-4_000)}`);
  return found;
}

const titles = (fixture: string, status: CaseResult["status"]) =>
  cases(fixture)
    .filter((item) => item.status === status)
    .map((item) => item.title)
    .sort();

const messageOf = (fixture: string, title: string) =>
  cases(fixture).find((item) => item.title === title)?.message ?? `(no case titled ${title})`;

/** Cases that need a started worker: everything after the start case except the topology groups. */
const runtimeCases = (fixture: string, except: string[]) =>
  cases(fixture)
    .filter((item) =>
      ["topology", "routing", "round trip", "workflows (Celery canvas)", "failures", "shutdown"].includes(
        item.group,
      ),
    )
    .map((item) => item.title)
    .filter((title) => !except.includes(title))
    .sort();

describe("the conformance suite", () => {
  it("passes every case for a correctly wired service with three tasks", () => {
    expect(titles("good", "failed")).toEqual([]);
    expect(titles("good", "skipped")).toEqual([]);
    // config 2, contracts 1 + 3 names + 3 samples, topology 9, routing 3, round trip 4, workflows 2,
    // failures 4, shutdown 1.
    expect(titles("good", "passed")).toHaveLength(32);
    expect(titles("good", "passed")).toEqual(
      expect.arrayContaining([
        ...ROUTES,
        ...ROUND_TRIPS,
        COVERAGE,
        EXTRAS,
        ROLE,
        CHAIN,
        ERRBACK,
        RETRIES,
        DEAD_LETTER,
        POISON,
        EXPIRED,
        DRAIN,
      ]),
    );
  });

  it("fails the platform topology case and every routing case when the platform binding is missing", () => {
    expect(titles("no-platform-binding", "failed")).toEqual([PLATFORM, ...ROUTES].sort());
    expect(titles("no-platform-binding", "skipped")).toEqual([]);
    expect(messageOf("no-platform-binding", PLATFORM)).toMatch(
      /binding t-conf-reports-\w+\.tasks -> t-conf-reports-\w+\.platform \[#\] is missing/,
    );
    const routing = messageOf("no-platform-binding", ROUTES[0]!);
    expect(routing).toContain("reaches {reports} instead of {reports, platform}");
    expect(routing).toContain("does not reach the platform queue");
    expect(routing).toContain("the platform never records the task");
  });

  it("fails the start and task-exchange cases when the exchange exists with the wrong type, skipping what needs a worker", () => {
    expect(titles("wrong-exchange-type", "failed")).toEqual([START, EXCHANGE].sort());
    expect(titles("wrong-exchange-type", "skipped")).toEqual(
      runtimeCases("wrong-exchange-type", [START, EXCHANGE]),
    );
    expect(messageOf("wrong-exchange-type", EXCHANGE)).toMatch(
      /exchange t-conf-reports-\w+\.tasks is a 'direct' exchange on the broker but the plan says 'topic'/,
    );
    expect(messageOf("wrong-exchange-type", START)).toContain("The reports worker did not start");
  });

  it("fails the start and service-queue cases when the queue was declared with other arguments, naming each argument", () => {
    expect(titles("queue-arguments", "failed")).toEqual([START, SERVICE_QUEUE].sort());
    // The exchanges are declared before the queue the broker refuses, so their cases still pass.
    expect(titles("queue-arguments", "passed")).toEqual(expect.arrayContaining([EXCHANGE, EVENTS, CONTROL]));
    expect(titles("queue-arguments", "skipped")).toEqual(
      runtimeCases("queue-arguments", [START, SERVICE_QUEUE, EXCHANGE, EVENTS, CONTROL]),
    );
    const message = messageOf("queue-arguments", SERVICE_QUEUE);
    expect(message).toContain("argument x-queue-type is absent on the broker but the plan says 'quorum'");
    expect(message).toContain("argument x-dead-letter-exchange is absent on the broker");
    expect(message).toContain("delete and re-create the queue after draining it");
  });

  it("fails the start when the result backend is not migrated, with the fix, skipping what needs a worker", () => {
    // The worker proves it can store results before it consumes (ResultStore.checkWrites).
    expect(titles("no-result-backend", "failed")).toEqual([START]);
    expect(titles("no-result-backend", "skipped")).toEqual(runtimeCases("no-result-backend", [START]));
    expect(messageOf("no-result-backend", START)).toContain("The reports worker did not start");
    expect(messageOf("no-result-backend", START)).toContain("worker-toolbox db migrate");
  });

  it("fails only the extras case when another service's tasks are also bound to the service queue", () => {
    expect(titles("stray-binding", "failed")).toEqual([EXTRAS]);
    expect(titles("stray-binding", "skipped")).toEqual([]);
    const message = messageOf("stray-binding", EXTRAS);
    expect(message).toMatch(
      /binding t-conf-reports-\w+\.tasks -> t-conf-reports-\w+\.reports \[billing\.#\] is not in the plan/,
    );
    expect(message).toContain("worker-toolbox topology prune --yes");
  });

  it("fails only the coverage case for a contract the service defines but left out of its task list", () => {
    expect(titles("contract-without-handler", "failed")).toEqual([COVERAGE]);
    expect(messageOf("contract-without-handler", COVERAGE)).toContain(
      "contract reports.archive has no handler: producers can send it, and it would be dead-lettered",
    );
    expect(messageOf("contract-without-handler", COVERAGE)).toContain("fix: bind every published contract");
  });

  it("fails the round trips, failure path and shutdown for a worker that acks before storing", () => {
    expect(titles("acks-early", "failed")).toEqual(
      [...ROUND_TRIPS, ROLE, CHAIN, ERRBACK, RETRIES, DEAD_LETTER, POISON, EXPIRED, DRAIN].sort(),
    );
    expect(titles("acks-early", "skipped")).toEqual([]);
    expect(messageOf("acks-early", ROUND_TRIPS[0]!)).toContain(
      "the worker acknowledged the message without storing a final row",
    );
    expect(messageOf("acks-early", DRAIN)).toContain("The worker never started reports.conformance_slow");
  });

  // Only what this run's fixtures created (their start cases record it): other runs may share the servers.
  it("cleans up after itself: no cleanup errors, and no namespace, database or role is left behind", async () => {
    expect(run.exitCode).toBe(1);
    expect(Object.fromEntries(run.fileErrors)).toEqual({});
    const created = [...run.created.values()];
    expect([...run.created.keys()].sort()).toEqual([...run.fixtures.keys()].sort());
    // Another run's role, named as the suite names them, still there: not this run's business.
    const pool = testPool({ connectionString: testServers().databaseUrl, max: 1 });
    const other = `wt_conf_${randomBytes(4).toString("hex")}_worker`;
    await pool.query(`CREATE ROLE "${other}"`);
    try {
      expect(await leftBehind(created)).toEqual({ databases: [], roles: [], queues: [] });
    } finally {
      await pool.query(`DROP ROLE "${other}"`);
      await pool.end();
    }
  });
});

/** Which of the runs' databases, roles and queues still exist. */
async function leftBehind(created: ConformanceRunNames[]) {
  const servers = testServers();
  const pool = testPool({ connectionString: servers.databaseUrl, max: 1 });
  try {
    const { rows: databases } = await pool.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname = ANY($1)",
      [created.map((names) => names.database)],
    );
    const { rows: roles } = await pool.query<{ rolname: string }>(
      "SELECT rolname FROM pg_roles WHERE rolname = ANY($1)",
      [created.flatMap((names) => names.roles)],
    );
    let queues: string[] = [];
    if (servers.managementUrl) {
      const client = createManagementClient({ url: servers.managementUrl });
      queues = (await client.listQueues())
        .map((queue) => queue.name)
        .filter((name) => created.some((names) => name.startsWith(`${names.prefix}.`)));
    }
    return { databases: databases.map((r) => r.datname), roles: roles.map((r) => r.rolname), queues };
  } finally {
    await pool.end();
  }
}
