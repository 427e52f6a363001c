import { hostname } from "node:os";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { spawnWorker, type WorkerProcess } from "../fixtures/workers/spawnWorker.js";
import { add, contracts, implementations, sleep } from "../fixtures/workers/tasks.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { runCliCaptured } from "../support/cli.js";
import { type CeleryCall, cliEnv, celeryCalls as controlCalls } from "./controlCalls.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * The remote-control commands that change a running worker, from Python Celery's `app.control` (through
 * `control_calls.py`) against TypeScript workers: pool_grow/pool_shrink change how many handlers run,
 * rate_limit spaces a task type's runs, time_limit aborts a task at its new limit, autoscale answers as a
 * Celery worker without an autoscaler, and shutdown drains the worker as SIGTERM does (its process exits 0,
 * nothing is lost). Each reply is the one Celery's worker gives.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Celery remote control change tests", celery.reason);

let world: InteropWorld;
let worker: Worker;
let producer: Producer;
let child: WorkerProcess | undefined;

const celeryCalls = (node: string, ...calls: CeleryCall[]) => controlCalls(world, node, ...calls);

async function rows(ids: readonly string[]) {
  const { rows } = await world.pool.query<{ task_id: string; status: string; date_done: Date }>(
    "SELECT task_id, status, date_done FROM celery_taskmeta WHERE task_id = ANY($1)",
    [ids],
  );
  return rows;
}

async function statuses(ids: readonly string[]): Promise<string[]> {
  return (await rows(ids)).map((row) => row.status).sort();
}

describe.skipIf(!celery.found)("Celery's app.control changes a running TypeScript worker", () => {
  beforeAll(async () => {
    world = await interopWorld("controlchg", ["wtest"]);
    const config = world.config({ service: "wtest", worker: { concurrency: 2, prefetch: 20 } });
    worker = createWorker({ config, tasks: implementations, logger: pino({ level: "silent" }) });
    producer = createProducer({ config, contracts, logger: pino({ level: "silent" }) });
    await Promise.all([worker.start(), producer.ready(20_000)]);
  });

  afterAll(async () => {
    child?.child.kill("SIGKILL");
    await worker?.close({ graceMs: 500 });
    await producer?.close();
    await world?.close();
  });

  it("pool_grow / pool_shrink change how many handlers run; autoscale is not enabled", async () => {
    const node = worker.nodeName;
    const [grown, stats] = await celeryCalls(
      node,
      ["control", "pool_grow", { n: 3 }],
      ["inspect", "stats", {}],
    );
    expect(grown).toEqual([{ [node]: { ok: "pool will grow" } }]);
    expect(stats).toMatchObject({ [node]: { pool: { "max-concurrency": 5 } } });
    const five = await Promise.all([1, 2, 3, 4, 5].map(() => producer.send(sleep, [1_500])));
    await expect.poll(() => worker.stats.running, { timeout: 5_000 }).toBe(5);

    const [shrunk, tooFar, autoscale, after] = await celeryCalls(
      node,
      ["control", "pool_shrink", { n: 4 }],
      ["control", "pool_shrink", { n: 1 }],
      ["control", "autoscale", { max: 4, min: 1 }],
      ["inspect", "stats", {}],
    );
    expect(shrunk).toEqual([{ [node]: { ok: "pool will shrink" } }]);
    expect(tooFar).toEqual([
      { [node]: { error: "pool_shrink: the pool has 1 slot(s) and keeps at least 1" } },
    ]);
    expect(autoscale).toEqual([{ [node]: { error: "Autoscale not enabled" } }]);
    expect(after).toMatchObject({ [node]: { pool: { "max-concurrency": 1 } } });
    // Shrinking interrupts nothing: the five finish; from then on one handler runs at a time.
    await expect
      .poll(() => statuses(five.map((r) => r.id)), { timeout: 10_000 })
      .toEqual(Array(5).fill("SUCCESS"));
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, worker.stats.running);
    }, 5);
    const three = await Promise.all([1, 2, 3].map(() => producer.send(sleep, [200])));
    await expect
      .poll(() => statuses(three.map((r) => r.id)), { timeout: 10_000 })
      .toEqual(Array(3).fill("SUCCESS"));
    clearInterval(sampler);
    expect(most).toBe(1);
  });

  it("rate_limit spaces a task type's runs; time_limit aborts a task at its new hard limit", async () => {
    const node = worker.nodeName;
    const replies = await celeryCalls(
      node,
      ["control", "rate_limit", { task_name: "wtest.add", rate_limit: "4/s" }],
      ["control", "rate_limit", { task_name: "wtest.nope", rate_limit: "1/s" }],
      ["control", "rate_limit", { task_name: "wtest.add", rate_limit: "fast" }],
      ["control", "time_limit", { task_name: "wtest.sleep", hard: 0.3 }],
    );
    expect(replies).toEqual([
      [{ [node]: { ok: "new rate limit set successfully" } }],
      [{ [node]: { error: "unknown task" } }],
      [{ [node]: { error: expect.stringMatching(/^Invalid rate limit string: "fast" is not a rate/) } }],
      [{ [node]: { ok: "time limits set successfully" } }],
    ]);
    const adds = await Promise.all([1, 2, 3, 4, 5].map((n) => producer.send(add, [n, n])));
    const started = Date.now();
    const slow = await producer.send(sleep, [5_000]);
    await expect
      .poll(() => statuses(adds.map((r) => r.id)), { timeout: 10_000 })
      .toEqual(Array(5).fill("SUCCESS"));
    // 4 a second: five runs span at least a second (four gaps of 250 ms), in this worker alone.
    const done = (await rows(adds.map((r) => r.id))).map((row) => row.date_done.getTime()).sort();
    expect(done.at(-1)! - done[0]!).toBeGreaterThanOrEqual(900);
    await expect.poll(() => statuses([slow.id]), { timeout: 4_000 }).toEqual(["FAILURE"]);
    expect(Date.now() - started).toBeLessThan(4_000);

    const lifted = await celeryCalls(node, [
      "control",
      "rate_limit",
      { task_name: "wtest.add", rate_limit: 0 },
    ]);
    expect(lifted).toEqual([[{ [node]: { ok: "rate limit disabled successfully" } }]]);

    // The toolbox's own `worker-toolbox control` sends the same commands (as `celery control`).
    const env = cliEnv(world);
    const control = (...argv: string[]) => runCliCaptured(["control", ...argv, "--destination", node], env);
    expect(await control("rate_limit", "wtest.add", "2/s")).toMatchObject({
      code: 0,
      stdout: `${node}: new rate limit set successfully\n`,
    });
    expect(await control("rate_limit", "wtest.nope", "1/s")).toMatchObject({
      code: 1,
      stdout: `${node}: error: unknown task\n`,
    });
    expect(await control("rate_limit", "wtest.add", "0")).toMatchObject({ code: 0 });
  });

  it("shutdown drains a worker process as SIGTERM does: the running task finishes, the rest wait in the queue", async () => {
    await worker.close({ graceMs: 500 }); // the process below is the only consumer of the queue
    const config = world.config({
      service: "wtest",
      worker: { concurrency: 1, prefetch: 10, trackStarted: true },
    });
    child = spawnWorker(config);
    await child.ready;
    const pid = child.events.find((event) => event.event === "ready")?.pid;
    const node = `wtest-${pid}@${hostname()}`;
    const running = await producer.send(sleep, [1_500]);
    const waiting = await Promise.all([1, 2, 3].map((n) => producer.send(add, [n, 1])));
    await expect.poll(() => statuses([running.id]), { timeout: 10_000 }).toEqual(["STARTED"]);

    const [reply] = await celeryCalls(node, ["control", "shutdown", {}]);
    expect(reply).toEqual([{ [node]: { ok: "shutting down" } }]);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    // installSignalHandlers took it as a signal: the fixture's close ran (it prints `exit`) before process.exit(0).
    expect(child.events.filter((event) => event.event === "exit")).toHaveLength(1);
    expect(child.events.map((event) => event.state).filter(Boolean)).toEqual(
      expect.arrayContaining(["stopping", "stopped"]),
    );
    expect(await statuses([running.id])).toEqual(["SUCCESS"]);
    expect(await statuses(waiting.map((r) => r.id))).toEqual([]);

    // Nothing lost: the next worker runs what the stopped one gave back.
    worker = createWorker({ config, tasks: implementations, logger: pino({ level: "silent" }) });
    await worker.start();
    await expect
      .poll(() => statuses(waiting.map((r) => r.id)), { timeout: 10_000 })
      .toEqual(Array(3).fill("SUCCESS"));
  });
});
