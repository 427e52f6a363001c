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
 * prefetch (2,000 messages) would take the whole backlog (about 4 MB) at once. And however much it holds, one
 * statement carries at most 4 MB of messages (500 rows of 100 KB were 50 MB of parameters).
 */
const servers = testServers();
const prefix = createTestNamespace("trkbytes");
const BUDGET = 1024 * 1024;
const COUNT = 60;
let database: TestDatabase;
let pool: pg.Pool;
let tracker: Tracker | undefined;

const config = (tracker = { prefetch: 2_000, maxInFlightBytes: BUDGET }) =>
  parseConfig({
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    database: { url: database.url },
    queue: { type: "classic" },
    limits: { maxMessageBytes: 256 * 1024 },
    tracker,
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

it("writes at most 4 MB of messages per statement, however many rows it holds", async () => {
  await tracker?.close(); // the backlog builds up with no consumer
  const connection = await amqp.connect(servers.amqpUrl);
  const channel = await connection.createConfirmChannel();
  const count = 100;
  for (let i = 0; i < count; i++) {
    const { content, properties } = encodeTaskMessage(
      newTaskMessage({ task: "export.large", args: [i, "y".repeat(64 * 1024)] }),
    );
    channel.publish(`${prefix}.tasks`, "export.large", content, properties);
  }
  await channel.waitForConfirms();
  await connection.close();

  // The args column of every tracking upsert, as sent (a binary text[] parameter).
  const argsBytes: number[] = [];
  const spy = new Proxy(pool, {
    get(target, key) {
      if (key !== "query") return Reflect.get(target, key, target);
      return (text: unknown, params?: unknown[]) => {
        if (typeof text === "string" && text.includes("worker_toolbox_tasks") && Buffer.isBuffer(params?.[2]))
          argsBytes.push(params[2].length);
        return target.query(text as string, params);
      };
    },
  });
  const wide = config({ prefetch: 2_000, maxInFlightBytes: 32 * 1024 * 1024 });
  tracker = createTracker({ config: wide, logger: pino({ level: "silent" }), pool: spy });
  await tracker.start();
  await expect.poll(() => tracker!.stats.stored, { timeout: 30_000 }).toBe(count);
  expect(tracker.stats.peakHeldBytes).toBeGreaterThan(4 * 1024 * 1024); // it did hold more than one batch
  expect(argsBytes.length).toBeGreaterThanOrEqual(2);
  expect(Math.max(...argsBytes)).toBeLessThanOrEqual(4 * 1024 * 1024);
});
