import { closeConnectionsNamed } from "@worker-toolbox/testing";
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { add, contracts, implementations } from "../fixtures/workers/tasks.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { runCliCaptured } from "../support/cli.js";
import { testServers } from "../support/servers.js";
import { type CeleryCall, cliEnv, celeryCalls as controlCalls } from "./controlCalls.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * Celery's add_consumer / cancel_consumer / active_queues and pool_restart, from Python's `app.control` and
 * `worker-toolbox control`, against a TypeScript worker: it consumes a queue declared elsewhere (with
 * arguments of its own, never re-declared), runs what a Python producer put there, stops again, stops and
 * resumes its own service queue, drains an added queue on shutdown; pool_restart is not enabled.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Celery add_consumer/cancel_consumer tests", celery.reason);

let world: InteropWorld;
let worker: Worker;
let producer: Producer;
let broker: ChannelModel;
let channel: Channel;
let legacy: string;
let serviceQueue: string;

const celeryCalls = (node: string, ...calls: CeleryCall[]) => controlCalls(world, node, ...calls);

/** A Python producer's task put straight into `queue` (the default exchange, routing key = queue name). */
const sendTo = (queue: string, task: string, args: unknown[]): CeleryCall => [
  "send",
  "send_task",
  { name: task, args, exchange: "", routing_key: queue },
];

async function statuses(ids: readonly string[]): Promise<string[]> {
  const { rows } = await world.pool.query<{ status: string }>(
    "SELECT status FROM celery_taskmeta WHERE task_id = ANY($1)",
    [ids],
  );
  return rows.map((row) => row.status).sort();
}

const queueNames = (reply: unknown, node: string) =>
  ((reply as Record<string, { name: string }[]>)[node] ?? []).map((queue) => queue.name);

describe.skipIf(!celery.found)("Celery's add_consumer / cancel_consumer against a TypeScript worker", () => {
  beforeAll(async () => {
    world = await interopWorld("controlq", ["wtest"]);
    legacy = `legacy-${world.prefix}`;
    serviceQueue = `${world.prefix}.wtest`;
    const config = world.config({ service: "wtest", worker: { concurrency: 1, prefetch: 5 } });
    worker = createWorker({ config, tasks: implementations, logger: pino({ level: "silent" }) });
    producer = createProducer({ config, contracts, logger: pino({ level: "silent" }) });
    await Promise.all([worker.start(), producer.ready(20_000)]);
    // A queue another team declared, with arguments the toolbox's plan knows nothing of.
    broker = await amqp.connect(testServers().amqpUrl);
    channel = await broker.createChannel();
    await channel.assertQueue(legacy, { durable: true, arguments: { "x-max-priority": 5 } });
  });

  afterAll(async () => {
    await worker?.close({ graceMs: 500 });
    await producer?.close();
    await channel?.deleteQueue(legacy).catch(() => undefined);
    await broker?.close().catch(() => undefined);
    await world?.close();
  });

  it("add_consumer runs what waits in a queue declared elsewhere; active_queues shows it; cancel_consumer stops", async () => {
    const node = worker.nodeName;
    const [waiting, before, added, again, queues] = await celeryCalls(
      node,
      sendTo(legacy, "wtest.add", [2, 3]),
      ["inspect", "active_queues", {}],
      ["control", "add_consumer", { queue: legacy }],
      ["control", "add_consumer", { queue: legacy }],
      ["inspect", "active_queues", {}],
    );
    expect(queueNames(before, node)).toEqual([serviceQueue]);
    expect(added).toEqual([{ [node]: { ok: `add consumer ${legacy}` } }]);
    expect(again).toEqual([{ [node]: { ok: `already consuming from ${legacy}` } }]);
    expect(queueNames(queues, node)).toEqual([serviceQueue, legacy]);
    expect((queues as Record<string, unknown[]>)[node]?.[1]).toMatchObject({
      name: legacy,
      exchange: { name: "", type: "direct" },
      routing_key: legacy,
      queue_arguments: null,
    });
    await expect.poll(() => statuses([waiting as string]), { timeout: 10_000 }).toEqual(["SUCCESS"]);
    // Never declared again: declaring it with its own arguments still succeeds (other ones would be refused).
    await channel.assertQueue(legacy, { durable: true, arguments: { "x-max-priority": 5 } });

    const [cancelled, after, notConsumed] = await celeryCalls(
      node,
      ["control", "cancel_consumer", { queue: legacy }],
      ["inspect", "active_queues", {}],
      ["control", "cancel_consumer", { queue: legacy }],
    );
    expect(cancelled).toEqual([{ [node]: { ok: `no longer consuming from ${legacy}` } }]);
    expect(queueNames(after, node)).toEqual([serviceQueue]);
    expect(notConsumed).toEqual([{ [node]: { error: `not consuming from ${legacy}` } }]);
    const [left] = await celeryCalls(node, sendTo(legacy, "wtest.add", [4, 4]));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await statuses([left as string])).toEqual([]);
    expect((await channel.checkQueue(legacy)).messageCount).toBe(1);
    await channel.purgeQueue(legacy);
  });

  it("refuses what it cannot consume as it is; pool_restart is not enabled", async () => {
    const node = worker.nodeName;
    const replies = await celeryCalls(
      node,
      ["control", "add_consumer", { queue: `nosuch-${world.prefix}` }],
      ["control", "add_consumer", { queue: `${world.prefix}.wtest.dead` }],
      ["control", "add_consumer", { queue: `${world.prefix}.billing` }],
      ["control", "add_consumer", { queue: legacy, exchange: legacy, routing_key: "wtest.#" }],
      ["control", "pool_restart", {}],
      ["inspect", "active_queues", {}],
    );
    const error = (pattern: RegExp) => [{ [node]: { error: expect.stringMatching(pattern) } }];
    expect(replies.slice(0, 5)).toEqual([
      error(new RegExp(`^queue nosuch-${world.prefix} does not exist: declare it`)),
      error(/is the toolbox's queue of dead letters of wtest/),
      error(/toolbox topology \(another service's queue\?\)/),
      error(/never declares queues, exchanges or bindings/),
      [{ [node]: { error: "Pool restarts not enabled" } }],
    ]);
    expect(queueNames(replies[5], node)).toEqual([serviceQueue]);
  });

  it("cancel_consumer of the service's queue takes the worker out of rotation; add_consumer puts it back", async () => {
    const node = worker.nodeName;
    const [stopped] = await celeryCalls(node, ["control", "cancel_consumer", { queue: serviceQueue }]);
    expect(stopped).toEqual([{ [node]: { ok: `no longer consuming from ${serviceQueue}` } }]);
    const sent = await producer.send(add, [1, 2]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await statuses([sent.id])).toEqual([]);
    expect(worker.state).toBe("ready");

    const [resumed, queues] = await celeryCalls(
      node,
      ["control", "add_consumer", { queue: serviceQueue }],
      ["inspect", "active_queues", {}],
    );
    expect(resumed).toEqual([{ [node]: { ok: `add consumer ${serviceQueue}` } }]);
    expect(queueNames(queues, node)).toEqual([serviceQueue]);
    await expect.poll(() => statuses([sent.id]), { timeout: 10_000 }).toEqual(["SUCCESS"]);
  });

  it("worker-toolbox control add_consumer / cancel_consumer / pool_restart, as celery control", async () => {
    const node = worker.nodeName;
    const env = cliEnv(world);
    const control = (...argv: string[]) => runCliCaptured(["control", ...argv, "--destination", node], env);
    expect(await control("add_consumer", legacy)).toMatchObject({
      code: 0,
      stdout: `${node}: add consumer ${legacy}\n`,
    });
    const inspect = await runCliCaptured(["inspect", "active_queues", "--json", "--destination", node], env);
    expect(queueNames(JSON.parse(inspect.stdout), node)).toEqual([serviceQueue, legacy]);
    expect(await control("cancel_consumer", legacy)).toMatchObject({
      code: 0,
      stdout: `${node}: no longer consuming from ${legacy}\n`,
    });
    expect(await control("add_consumer", `nosuch-${world.prefix}`)).toMatchObject({
      code: 1,
      stdout: expect.stringContaining(`${node}: error: queue nosuch-${world.prefix} does not exist`),
    });
    expect(await control("pool_restart")).toMatchObject({
      code: 1,
      stdout: `${node}: error: Pool restarts not enabled\n`,
    });
  });

  it("an added queue is consumed again after the worker's connection is lost", async () => {
    const node = worker.nodeName;
    const servers = testServers();
    if (!servers.managementUrl) return; // closing a connection needs the management API
    const [added] = await celeryCalls(node, ["control", "add_consumer", { queue: legacy }]);
    expect(added).toEqual([{ [node]: { ok: `add consumer ${legacy}` } }]);
    await expect
      .poll(() => closeConnectionsNamed(servers.managementUrl!, `worker:${node}`), { timeout: 15_000 })
      .toBe(1);
    await expect.poll(() => worker.state, { timeout: 15_000 }).toBe("ready");
    const [sent, queues, cancelled] = await celeryCalls(
      node,
      sendTo(legacy, "wtest.add", [5, 5]),
      ["inspect", "active_queues", {}],
      ["control", "cancel_consumer", { queue: legacy }],
    );
    expect(queueNames(queues, node)).toEqual([serviceQueue, legacy]);
    await expect.poll(() => statuses([sent as string]), { timeout: 10_000 }).toEqual(["SUCCESS"]);
    expect(cancelled).toEqual([{ [node]: { ok: `no longer consuming from ${legacy}` } }]);
  });

  it("an added queue drains on shutdown: the running task finishes, what waited goes back to that queue", async () => {
    const node = worker.nodeName;
    const [running, ...waiting] = (await celeryCalls(
      node,
      sendTo(legacy, "wtest.sleep", [1_500]),
      sendTo(legacy, "wtest.add", [1, 1]),
      sendTo(legacy, "wtest.add", [2, 2]),
    )) as string[];
    const [added] = await celeryCalls(node, ["control", "add_consumer", { queue: legacy }]);
    expect(added).toEqual([{ [node]: { ok: `add consumer ${legacy}` } }]);
    // One handler slot: the sleep runs, the two adds wait in the worker (prefetch 5).
    await expect.poll(() => worker.stats.running, { timeout: 5_000 }).toBe(1);
    expect((await channel.checkQueue(legacy)).messageCount).toBe(0);
    await worker.close({ graceMs: 5_000 });
    expect(await statuses([running!])).toEqual(["SUCCESS"]);
    expect(await statuses(waiting)).toEqual([]);
    expect((await channel.checkQueue(legacy)).messageCount).toBe(2);
  });
});
