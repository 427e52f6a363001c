import { parseConfig } from "@worker-toolbox/config";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type TestDatabase,
} from "@worker-toolbox/testing";
import amqp from "amqplib";
import type pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { encodeTaskMessage, newTaskMessage } from "../../packages/runtime/src/protocol/index.js";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { createTracker, type Tracker } from "../../packages/runtime/src/tracker/index.js";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";

/**
 * tracker.maxInFlightBytes: a backlog of large messages is drained holding at most the budget, although the
 * prefetch (2,000 messages) would take the whole backlog (about 4 MB) at once.
 */
const servers = testServers();
const prefix = createTestNamespace("trkbytes");
const BUDGET = 1024 * 1024;
const COUNT = 60;
let database: TestDatabase;
let pool: pg.Pool;
let tracker: Tracker | undefined;

const config = () =>
  parseConfig({
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    database: { url: database.url },
    queue: { type: "classic" },
    limits: { maxMessageBytes: 256 * 1024 },
    tracker: { prefetch: 2_000, maxInFlightBytes: BUDGET },
  });

beforeAll(async () => {
  database = await createTestDatabase(servers.databaseUrl, "trackerbytes");
  pool = testPool({ connectionString: database.url });
  await migrate(pool, { schema: "public" });
  // Declare the topology, then stop: the backlog builds up with no consumer.
  const declare = createTracker({ config: config(), logger: pino({ level: "silent" }), pool });
  await declare.start();
  await declare.close();
});

afterAll(async () => {
  await tracker?.close();
  await pool?.end();
  await database?.drop();
  if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix);
});

it("drains a backlog of 64 KB messages holding no more than tracker.maxInFlightBytes", async () => {
  const connection = await amqp.connect(servers.amqpUrl);
  const channel = await connection.createConfirmChannel();
  let backlog = 0;
  for (let i = 0; i < COUNT; i++) {
    const { content, properties } = encodeTaskMessage(
      newTaskMessage({ task: "export.large", args: [i, "x".repeat(64 * 1024)] }),
    );
    backlog += content.length;
    channel.publish(`${prefix}.tasks`, "export.large", content, properties);
  }
  await channel.waitForConfirms();
  await connection.close();
  expect(backlog).toBeGreaterThan(3 * BUDGET);

  tracker = createTracker({ config: config(), logger: pino({ level: "silent" }), pool });
  await tracker.start();
  await expect
    .poll(async () => (await pool.query("select count(*)::int as n from worker_toolbox_tasks")).rows[0].n, {
      timeout: 30_000,
    })
    .toBe(COUNT);
  await expect.poll(() => tracker!.stats.heldBytes, { timeout: 5_000 }).toBe(0);
  expect(tracker.stats.peakHeldBytes).toBeGreaterThan(64 * 1024);
  expect(tracker.stats.peakHeldBytes).toBeLessThanOrEqual(BUDGET);
});
