import { parseConfig } from "@worker-toolbox/config";
import {
  closeConnectionsNamed,
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type TestDatabase,
} from "@worker-toolbox/testing";
import amqp from "amqplib";
import type pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeTaskMessage,
  newTaskMessage,
  retryMessage,
} from "../../packages/runtime/src/protocol/index.js";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { createTracker, type Tracker } from "../../packages/runtime/src/tracker/index.js";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";

const servers = testServers();
const prefix = createTestNamespace("trk");
let database: TestDatabase;
let pool: pg.Pool;
let tracker: Tracker;
let connection: amqp.ChannelModel;
let channel: amqp.ConfirmChannel;

const config = () =>
  parseConfig({
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    database: { url: database.url },
    queue: { type: "classic" },
    tracker: { batchSize: 200 },
    limits: { maxMessageBytes: 64 * 1024 },
  });

async function publish(message: ReturnType<typeof newTaskMessage>) {
  const { content, properties } = encodeTaskMessage(message);
  channel.publish(`${prefix}.tasks`, message.task, content, properties);
  await channel.waitForConfirms();
}

async function rows(sql: string, params: unknown[] = []) {
  return (await pool.query(sql, params)).rows;
}

/** The next message in `<prefix>.platform.dead` (taken), once the tracker dead-lettered one. */
async function nextPlatformDeadLetter(): Promise<amqp.GetMessage> {
  const box: { message?: amqp.GetMessage } = {};
  await expect
    .poll(
      async () =>
        (box.message ||= (await channel.get(`${prefix}.platform.dead`, { noAck: true })) || undefined),
      { timeout: 10_000 },
    )
    .toBeTruthy();
  return box.message!;
}

/** The tracker kept going: `taskId` gets its row. */
async function expectTracked(taskId: string): Promise<void> {
  await expect
    .poll(async () => (await rows("select 1 from worker_toolbox_tasks where task_id = $1", [taskId])).length)
    .toBe(1);
}

beforeAll(async () => {
  database = await createTestDatabase(servers.databaseUrl, "tracker");
  pool = testPool({ connectionString: database.url });
  await migrate(pool, { schema: "public" });
  tracker = createTracker({ config: config(), logger: pino({ level: "silent" }) });
  await tracker.start(); // declares the topology, so publishing below is routed
  connection = await amqp.connect(servers.amqpUrl);
  channel = await connection.createConfirmChannel();
});

afterAll(async () => {
  await tracker?.close();
  await connection?.close();
  await pool?.end();
  await database?.drop();
  if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix);
});

describe("tracker", () => {
  it("records every published task with its ids, arguments and tracking metadata", async () => {
    const messages = Array.from({ length: 500 }, (_, i) =>
      newTaskMessage({
        task: "export.project",
        args: ["org", i],
        kwargs: { n: i },
        extraHeaders: {
          "x-wt-tracking": { requestedBy: `user:${i}` },
          traceparent: "00-abc-def-01",
          plain: "py",
        },
      }),
    );
    for (const message of messages) {
      const { content, properties } = encodeTaskMessage(message);
      channel.publish(`${prefix}.tasks`, message.task, content, properties);
    }
    await channel.waitForConfirms();
    await expect
      .poll(async () => (await rows("select count(*)::int as n from worker_toolbox_tasks"))[0].n, {
        timeout: 15_000,
      })
      .toBe(500);
    const [row] = await rows("select * from worker_toolbox_tasks where task_id = $1", [messages[7]!.id]);
    expect(row).toMatchObject({
      name: "export.project",
      args: ["org", 7],
      kwargs: { n: 7 },
      root_id: messages[7]!.id,
      retries: 0,
      queue: `${prefix}.export`,
      tracking: { requestedBy: "user:7", plain: "py" },
    });
  });

  it("a retry of the same task id updates retries instead of adding a row", async () => {
    const first = newTaskMessage({ task: "export.project", args: ["a"] });
    await publish(first);
    await publish(retryMessage(first, { eta: new Date(Date.now() + 60_000) }));
    await expect
      .poll(
        async () =>
          (await rows("select retries from worker_toolbox_tasks where task_id = $1", [first.id]))[0]?.retries,
        {
          timeout: 10_000,
        },
      )
      .toBe(1);
    expect(await rows("select 1 from worker_toolbox_tasks where task_id = $1", [first.id])).toHaveLength(1);
  });

  it("dead-letters a message that is not a Celery task message, with the reason, and keeps going", async () => {
    channel.publish(`${prefix}.tasks`, "export.garbage", Buffer.from("not json"), {
      contentType: "application/json",
    });
    await channel.waitForConfirms();
    const good = newTaskMessage({ task: "export.after_garbage" });
    await publish(good);
    const message = await nextPlatformDeadLetter();
    expect(message.content.toString()).toBe("not json");
    expect(message.properties.headers?.["x-wt-reason"]).toBe("malformed");
    expect(message.properties.headers?.["x-wt-original-routing-key"]).toBe("export.garbage");
    await expectTracked(good.id);
  });

  it("dead-letters a message over limits.maxMessageBytes unread (too-large): no row holds its body", async () => {
    // The audit's hole: only the sender checked the limit, so a 20 MB kwargs was stored. 100 KB over 64 KB here.
    const big = newTaskMessage({ task: "export.project", kwargs: { blob: "x".repeat(100 * 1024) } });
    await publish(big);
    const good = newTaskMessage({ task: "export.after_big" });
    await publish(good);
    const message = await nextPlatformDeadLetter();
    expect(message.properties.headers?.["x-wt-reason"]).toBe("too-large");
    expect(message.properties.correlationId).toBe(big.id);
    await expectTracked(good.id);
    expect(await rows("select 1 from worker_toolbox_tasks where task_id = $1", [big.id])).toEqual([]);
  });

  it("a row the database refuses while more messages stream in: every other row stored and acked, the refused one dead-lettered", async () => {
    // Stands in for any row PostgreSQL refuses for its content (an operator's constraint, a trigger).
    await pool.query(`
      CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name = 'export.refused' THEN
          RAISE EXCEPTION 'refused on purpose' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_marked BEFORE INSERT OR UPDATE ON worker_toolbox_tasks
        FOR EACH ROW EXECUTE FUNCTION refuse_marked();`);
    const storedBefore = tracker.stats.stored;
    const refused = newTaskMessage({ task: "export.refused" });
    const streamed: string[] = [];
    // Bursts a few ms apart, the refused copy early in the first: copies keep arriving while the tracker
    // writes the refused row's batch row by row to find it.
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 30; i++) {
        const message =
          burst === 0 && i === 10 ? refused : newTaskMessage({ task: "export.streamed", args: [burst, i] });
        if (message !== refused) streamed.push(message.id);
        const { content, properties } = encodeTaskMessage(message);
        channel.publish(`${prefix}.tasks`, message.task, content, properties);
      }
      await channel.waitForConfirms();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const storedIds = async () =>
      (
        await rows("select count(*)::int as n from worker_toolbox_tasks where task_id = any($1)", [streamed])
      )[0].n;
    await expect.poll(storedIds, { timeout: 15_000 }).toBe(streamed.length);
    // Each stored copy was acknowledged (the tracker counts a copy when it acks it) and none is left over.
    await expect.poll(() => tracker.stats.stored - storedBefore, { timeout: 10_000 }).toBe(streamed.length);
    const box: { letter?: amqp.GetMessage } = {};
    await expect
      .poll(
        async () =>
          (box.letter ||= (await channel.get(`${prefix}.platform.dead`, { noAck: true })) || undefined),
        {
          timeout: 10_000,
        },
      )
      .toBeTruthy();
    expect(box.letter!.properties.headers).toMatchObject({
      id: refused.id,
      "x-wt-reason": "unstorable-tracking",
    });
    expect(String(box.letter!.properties.headers?.["x-wt-error-message"])).toContain("refused on purpose");
    await expect.poll(async () => (await channel.checkQueue(`${prefix}.platform`)).messageCount).toBe(0);
    expect(await rows("select 1 from worker_toolbox_tasks where task_id = $1", [refused.id])).toHaveLength(0);
    await pool.query("DROP TRIGGER refuse_marked ON worker_toolbox_tasks; DROP FUNCTION refuse_marked()");
  });

  it("reconnects after losing the broker connection and keeps recording", async () => {
    expect(servers.managementUrl).toBeDefined();
    await expect
      .poll(() => closeConnectionsNamed(servers.managementUrl!, "worker-toolbox tracker"), {
        timeout: 10_000,
      })
      .toBeGreaterThan(0);
    await expect.poll(() => tracker.state, { timeout: 10_000 }).toBe("connected");
    const after = newTaskMessage({ task: "export.after_reconnect" });
    await publish(after);
    await expect
      .poll(
        async () => (await rows("select 1 from worker_toolbox_tasks where task_id = $1", [after.id])).length,
        {
          timeout: 15_000,
        },
      )
      .toBe(1);
  });
});
