import { parseConfig } from "@worker-toolbox/config";
import {
  createTestDatabase,
  createTestNamespace,
  type RabbitMQServer,
  startRabbitMQ,
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
 * The tracker acks a copy once its row is stored, so a database that stalls longer than RabbitMQ's
 * `consumer_timeout` makes the broker close the tracker's channel (406). This node's timeout is 2 s, checked
 * every 200 ms; a lock on the tracking table stalls the tracker's write for 3 s.
 */
const TIMEOUT_MS = 2_000;
const prefix = createTestNamespace("trkct");
let node: RabbitMQServer;
let database: TestDatabase;
let pool: pg.Pool;
let tracker: Tracker;
let connection: amqp.ChannelModel;
let channel: amqp.ConfirmChannel;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  node = await startRabbitMQ({
    conf: [`consumer_timeout = ${TIMEOUT_MS}`],
    rabbitAdvanced: ["{channel_tick_interval, 200}"],
  });
  database = await createTestDatabase(testServers().databaseUrl, "trkct");
  pool = testPool({ connectionString: database.url, max: 2 });
  await migrate(pool, { schema: "public" });
  const config = parseConfig({
    environment: { prefix },
    broker: { url: node.url, reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 1_000 },
    database: { url: database.url },
    queue: { type: "classic" },
  });
  const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  tracker = createTracker({ config, logger });
  await tracker.start();
  connection = await amqp.connect(node.url);
  channel = await connection.createConfirmChannel();
}, 180_000);

afterAll(async () => {
  await tracker?.close();
  await connection?.close().catch(() => undefined);
  await pool?.end();
  await database?.drop();
  await node?.dispose();
}, 120_000);

async function publish(task: string): Promise<string> {
  const message = newTaskMessage({ task, args: [] });
  const { content, properties } = encodeTaskMessage(message);
  channel.publish(`${prefix}.tasks`, message.task, content, properties);
  await channel.waitForConfirms();
  return message.id;
}

const trackedRows = async (taskId: string) =>
  (await pool.query("select 1 from worker_toolbox_tasks where task_id = $1", [taskId])).rowCount;

it("a database stall past the broker's consumer_timeout: one error line, the tracker consumes again, nothing lost", async () => {
  const before = await publish("export.before");
  await expect.poll(() => trackedRows(before), { timeout: 10_000 }).toBe(1);

  // Hold the tracking table for longer than the timeout while a copy waits for its row.
  const locker = await pool.connect();
  await locker.query("BEGIN; LOCK TABLE worker_toolbox_tasks IN ACCESS EXCLUSIVE MODE");
  const stalled = await publish("export.stalled");
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 1_000));
  await locker.query("COMMIT");
  locker.release();

  const after = await publish("export.after");
  await expect.poll(() => trackedRows(after), { timeout: 10_000 }).toBe(1);
  await expect.poll(() => trackedRows(stalled), { timeout: 10_000 }).toBe(1);
  const errors = logs.filter((line) => Number(line.level) >= 50);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({
    code: "BROKER_CONSUMER_TIMEOUT",
    timeoutMs: TIMEOUT_MS,
    taskId: stalled,
  });
  expect(String(errors[0]!.hint)).toMatch(/database/);
  // Nothing left unacknowledged or lost: the platform queue is empty.
  await expect
    .poll(async () => (await channel.checkQueue(`${prefix}.platform`)).messageCount, { timeout: 10_000 })
    .toBe(0);
}, 60_000);
