import { defineTask } from "@worker-toolbox/config";
import { type RabbitMQServer, startRabbitMQ } from "@worker-toolbox/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import {
  createWorker,
  implementTask,
  type Worker,
  type WorkerState,
} from "../../packages/runtime/src/worker/index.js";
import { SERVICE } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "./harness.js";

/**
 * RabbitMQ (≥ 3.8.15) closes the channel of a consumer that holds a delivery unacknowledged longer than
 * `consumer_timeout` (406 PRECONDITION_FAILED, celery/celery#6760); every unacked message of that channel
 * returns to the queue. This node's timeout is 2 s and its channels check it every 200 ms (60 s by default).
 * One handler runs 3 s, so its channel is closed under the worker while it runs and while three more
 * messages wait, prefetched, for the worker's one handler slot.
 */
const TIMEOUT_MS = 2_000;
const LONG_MS = 3_000;

const slow = defineTask({
  name: `${SERVICE}.slow`,
  args: z.tuple([z.string(), z.number().int().min(0)]),
  result: z.string(),
});

let node: RabbitMQServer;
let h: Harness;
let worker: Worker;
let producer: Producer;
const runs = new Map<string, number>();
const logs: Record<string, unknown>[] = [];
const states: WorkerState[] = [];

beforeAll(async () => {
  node = await startRabbitMQ({
    conf: [`consumer_timeout = ${TIMEOUT_MS}`],
    rabbitAdvanced: ["{channel_tick_interval, 200}"],
  });
  const servers = { ...testServers(), amqpUrl: node.url, managementUrl: node.managementUrl };
  h = await createHarness("consumer-timeout", servers, { worker: { concurrency: 1, prefetch: 4 } });
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  worker = createWorker({
    config: h.config,
    // A handler that takes its time, as a long export does (it does not watch its signal).
    tasks: [
      implementTask(slow, async ({ args: [key, ms] }) => {
        runs.set(key, (runs.get(key) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, ms));
        return key;
      }),
    ],
    logger,
  });
  worker.on("state", (state) => states.push(state));
  producer = createProducer({ config: h.config, contracts: [slow], logger: testLogger });
  await Promise.all([worker.start(), producer.ready(20_000)]);
}, 180_000);

afterAll(async () => {
  await worker?.close({ graceMs: 500 });
  await producer?.close();
  await h?.close();
  await node?.dispose();
}, 120_000);

describe("a handler running past RabbitMQ's consumer_timeout", () => {
  it("loses nothing, runs every task once, says why and how to fix it, and keeps consuming", async () => {
    // One task acked first: the channel's delivery tags then differ from those of the channel after it, so
    // an acknowledgement sent with a stale tag on the new channel would settle another message.
    const first = await producer.send(slow, ["first", 0]);
    await h.waitForStatus(first.id, "SUCCESS", 10_000);
    const long = await producer.send(slow, ["long", LONG_MS]);
    const waiting = await Promise.all(["a", "b", "c"].map((key) => producer.send(slow, [key, 10])));
    for (const receipt of [long, ...waiting]) await h.waitForStatus(receipt.id, "SUCCESS", 20_000);
    // Time for a second timeout, had a copy of a message been held again past it.
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 500));

    // Each ran once: the copies the broker handed out again were not run a second time.
    expect(Object.fromEntries(runs)).toEqual({ first: 1, long: 1, a: 1, b: 1, c: 1 });
    expect(await h.depths()).toEqual({ queue: 0, dead: 0 });
    const rows = await h.rows([long.id, ...waiting.map((receipt) => receipt.id)]);
    expect(rows.map((row) => row.status)).toEqual(Array(4).fill("SUCCESS"));

    // One error line: the cause (the broker's consumer_timeout, its value), the task, and both fixes.
    const errors = logs.filter((line) => Number(line.level) >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: "BROKER_CONSUMER_TIMEOUT",
      timeoutMs: TIMEOUT_MS,
      task: slow.name,
      taskId: long.id,
    });
    expect(String(errors[0]!.msg)).toMatch(/consumer_timeout/);
    expect(String(errors[0]!.hint)).toMatch(/consumer_timeout/);
    expect(String(errors[0]!.hint)).toMatch(/timeLimitMs\.hard/);
    // No acknowledgement went to a channel that did not deliver the message (a stale delivery tag).
    expect(logs.filter((line) => /unknown delivery tag/i.test(JSON.stringify(line)))).toEqual([]);
    expect(await worker.metrics.getSingleMetricAsString("worker_toolbox_consumer_timeouts_total")).toMatch(
      /^worker_toolbox_consumer_timeouts_total(\{[^}]*\})? 1$/m,
    );

    // The worker kept consuming: a new channel on the same connection, never "recovering" (not a broker outage).
    expect(states).toEqual(["ready"]);
    const after = await producer.send(slow, ["after", 0]);
    await h.waitForStatus(after.id, "SUCCESS", 10_000);
    expect(runs.get("after")).toBe(1);
  }, 60_000);

  // Last: it stops the worker.
  it("on shutdown, the copy waiting for a run that lost its channel goes back to the queue at once", async () => {
    const errorLines = () => logs.filter((line) => Number(line.level) >= 50).length;
    const before = errorLines();
    const long = await producer.send(slow, ["long2", LONG_MS]);
    for (let i = 0; i < 100 && errorLines() === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(errorLines()).toBe(before + 1); // its channel was closed under it
    await new Promise((resolve) => setTimeout(resolve, 300)); // the broker hands the message out again
    await worker.close({ graceMs: 200 });
    // Given back, not left waiting for the run's end: shutdown did not run out of time settling it.
    expect(logs.filter((line) => /not stored in time/.test(String(line.msg)))).toEqual([]);
    expect(await h.depths()).toEqual({ queue: 1, dead: 0 });
    expect(await h.row(long.id)).toBeUndefined();
    expect(runs.get("long2")).toBe(1);
  }, 30_000);
});
