import { parseConfig } from "@worker-toolbox/config";
import {
  createTestNamespace,
  deleteNamespace,
  type PostgresServer,
  startPostgres,
} from "@worker-toolbox/testing";
import amqp from "amqplib";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { encodeTaskMessage, newTaskMessage } from "../../packages/runtime/src/protocol/index.js";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { createTracker, type Tracker } from "../../packages/runtime/src/tracker/index.js";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";

// The tracker's own PostgreSQL, so stopping it affects no other test file.
const servers = testServers();
const prefix = createTestNamespace("trkdb");
let postgres: PostgresServer;
let tracker: Tracker;

beforeAll(async () => {
  postgres = await startPostgres();
  const pool = testPool({ connectionString: postgres.url });
  await migrate(pool, { schema: "public" });
  await pool.end();
});

afterAll(async () => {
  await tracker?.close();
  await postgres?.dispose();
  if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix);
});

it("acknowledges nothing while PostgreSQL is down; every message is stored once it is back", async () => {
  const config = parseConfig({
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    database: { url: postgres.url },
    queue: { type: "classic" },
    // Small messages only, and a byte window (tracker.maxInFlightBytes) that starts wide enough to take all
    // 300 (it starts at the budget over the largest message: 32 MB / 64 KB = 512).
    limits: { maxMessageBytes: 64 * 1024 },
    tracker: { maxInFlightBytes: 32 * 1024 * 1024 },
  });
  const first = createTracker({ config, logger: pino({ level: "silent" }) });
  await first.start();
  await postgres.stop();

  const connection = await amqp.connect(servers.amqpUrl);
  const channel = await connection.createConfirmChannel();
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) {
    const message = newTaskMessage({ task: "export.during_outage", args: [i] });
    ids.push(message.id);
    const { content, properties } = encodeTaskMessage(message);
    channel.publish(`${prefix}.tasks`, message.task, content, properties);
  }
  await channel.waitForConfirms();
  await expect.poll(async () => (await channel.checkQueue(`${prefix}.platform`)).messageCount).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  // The tracker took all 300 but could store none: closing it must return every one to the queue.
  await first.close();
  expect(first.stats.stored).toBe(0);
  await expect.poll(async () => (await channel.checkQueue(`${prefix}.platform`)).messageCount).toBe(300);
  await connection.close();

  await postgres.start();
  tracker = createTracker({ config, logger: pino({ level: "silent" }) });
  await tracker.start();
  await expect.poll(() => tracker.stats.stored, { timeout: 30_000 }).toBe(300);
  const pool = testPool({ connectionString: postgres.url });
  const { rows } = await pool.query("select task_id from worker_toolbox_tasks");
  await pool.end();
  expect(rows.map((row) => row.task_id).sort()).toEqual([...ids].sort());
});
