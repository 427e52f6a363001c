import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProducer } from "../../packages/runtime/src/producer/index.js";
import {
  createWorker,
  implementTask,
  PermanentError,
  RetryableError,
} from "../../packages/runtime/src/worker/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { canvasContracts } from "./contracts.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * Celery events from a TypeScript worker, watched by Celery's own event receiver and State (what
 * `celery events` and Flower run): the worker comes online, beats, carries the toolbox's identity, and
 * goes offline when it stops.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Celery events interop tests", celery.reason);
const ts = canvasContracts("tsint");

let world: InteropWorld;

interface ReceiverResult {
  events: { type: string; [field: string]: unknown }[];
  alive_while_running: boolean[];
  worker: { alive: boolean; heartbeats: number; freq: number; sw_ident: string } | null;
  tasks: Record<
    string,
    { state: string; name: string | null; result: string | null; exception: string | null }
  >;
}

describe.skipIf(!celery.found)("Celery events from a TypeScript worker", () => {
  beforeAll(async () => {
    world = await interopWorld("events", ["tsint"]);
  });

  afterAll(async () => {
    await world?.close();
  });

  it("worker-online, heartbeats with the toolbox's identity, worker-offline: Celery's State sees it alive, then gone", async () => {
    const worker = createWorker({
      config: world.config({ service: "tsint", worker: { events: true, heartbeatMs: 500 } }),
      tasks: [implementTask(ts.add, ({ args: [a, b] }) => a + b)],
      logger: pino({ level: "silent" }),
    });
    const receiver = world.python.start(["-m", "event_receiver"], { NODE: worker.nodeName, SECONDS: "30" });
    await receiver.line("READY");
    await worker.start();
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await worker.close({ graceMs: 1_000 });
    const result = JSON.parse(await receiver.line("RESULT ")) as ReceiverResult;

    const types = result.events.map((event) => event.type);
    expect(types[0]).toBe("worker-online");
    expect(types.at(-1)).toBe("worker-offline");
    expect(types.filter((type) => type === "worker-heartbeat").length).toBeGreaterThanOrEqual(2);
    const heartbeat = result.events.find((event) => event.type === "worker-heartbeat")!;
    expect(heartbeat).toMatchObject({
      hostname: worker.nodeName,
      freq: 0.5,
      active: 0,
      sw_ident: "worker-toolbox",
      wt_service: "tsint",
      wt_tasks: ["tsint.add"],
      wt_concurrency: 8,
    });
    expect(heartbeat.wt_toolbox_version).toMatch(/^\d+\.\d+\.\d+/);
    // Celery's State counted it alive while it beat, and offline after worker-offline.
    expect(result.alive_while_running.every(Boolean)).toBe(true);
    expect(result.worker).toMatchObject({ alive: false, freq: 0.5, sw_ident: "worker-toolbox" });
  });

  it("task events as Celery's worker sends them: State shows SUCCESS, FAILURE, a retry that succeeds and a terminated REVOKED", async () => {
    let mulCalls = 0;
    const config = world.config({ service: "tsint", worker: { events: true, heartbeatMs: 1_000 } });
    const worker = createWorker({
      config,
      tasks: [
        implementTask(ts.add, ({ args: [a, b] }) => a + b),
        implementTask(ts.boom, ({ args: [message] }) => {
          throw new PermanentError(message);
        }),
        implementTask(ts.mul, ({ args: [a, b] }) => {
          mulCalls += 1;
          if (mulCalls === 1) throw new RetryableError("not yet", { delayMs: 100 });
          return a * b;
        }),
        implementTask(
          ts.total,
          (_, ctx) =>
            new Promise<number>((_resolve, reject) =>
              ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
            ),
        ),
      ],
      logger: pino({ level: "silent" }),
    });
    const producer = createProducer({
      config,
      contracts: [ts.add, ts.boom, ts.mul, ts.total],
      logger: pino({ level: "silent" }),
    });
    const receiver = world.python.start(["-m", "event_receiver"], { NODE: worker.nodeName, SECONDS: "40" });
    await receiver.line("READY");
    await Promise.all([worker.start(), producer.ready(20_000)]);
    const [added, failed, retried, endless] = await Promise.all([
      producer.send(ts.add, [2, 3]),
      producer.send(ts.boom, ["bad input"]),
      producer.send(ts.mul, [4, 5]),
      producer.send(ts.total, [[1]]),
    ]);
    const state = async (id: string) =>
      (await world.pool.query("SELECT status FROM celery_taskmeta WHERE task_id = $1", [id])).rows[0]?.status;
    await expect.poll(() => worker.stats.running, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => state(retried.id), { timeout: 10_000 }).toBe("SUCCESS");
    await worker.revoke(endless.id);
    await expect.poll(() => state(endless.id), { timeout: 5_000 }).toBe("REVOKED");
    await producer.close();
    await worker.close({ graceMs: 1_000 });
    const result = JSON.parse(await receiver.line("RESULT ")) as ReceiverResult;

    expect(result.tasks[added.id]).toEqual({
      state: "SUCCESS",
      name: "tsint.add",
      result: "5",
      exception: null,
    });
    expect(result.tasks[failed.id]).toMatchObject({
      state: "FAILURE",
      name: "tsint.boom",
      exception: "PermanentError('bad input')",
    });
    expect(result.tasks[retried.id]).toMatchObject({ state: "SUCCESS", name: "tsint.mul", result: "20" });
    expect(result.tasks[endless.id]).toMatchObject({ state: "REVOKED", name: "tsint.total" });
    const of = (id: string) => result.events.filter((event) => event.uuid === id);
    expect(of(added.id).map((event) => event.type)).toEqual([
      "task-received",
      "task-started",
      "task-succeeded",
    ]);
    expect(of(added.id)[0]).toMatchObject({ name: "tsint.add", args: "(2, 3)", kwargs: "{}", retries: 0 });
    expect(of(retried.id).map((event) => event.type)).toEqual([
      "task-received",
      "task-started",
      "task-retried",
      "task-received",
      "task-started",
      "task-succeeded",
    ]);
    expect(of(endless.id).at(-1)).toMatchObject({ type: "task-revoked", terminated: true, signum: 15 });
    // Celery's State counted what the worker processed from its heartbeats.
    expect(result.worker).toMatchObject({ alive: false, sw_ident: "worker-toolbox" });
  });
});
