import { defineTask } from "@worker-toolbox/config";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { createWorker, implementTask, type Worker } from "../../packages/runtime/src/worker/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { runCliCaptured } from "../support/cli.js";
import { testServers } from "../support/servers.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * Celery's remote control from Python (`app.control.inspect()`, `app.control.revoke()`,
 * `AsyncResult.revoke(terminate=True)`, configured only by `celery-config`) against a TypeScript worker:
 * the worker answers on the pidbox exchange the topology plan declares, as a Celery worker would.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Celery remote control interop tests", celery.reason);

const block = defineTask({ name: "tsctl.block", args: z.tuple([z.string()]), result: z.string() });
const add = defineTask({ name: "tsctl.add", args: z.tuple([z.number(), z.number()]), result: z.number() });

/** Handler runs seen by the test: `block` waits for its abort signal (or 20 s). */
const ran: string[] = [];
let started: () => void = () => undefined;

let world: InteropWorld;
let worker: Worker;
let producer: Producer;

async function status(id: string, wanted: string, withinMs = 10_000): Promise<Record<string, unknown>> {
  const until = Date.now() + withinMs;
  for (;;) {
    const { rows } = await world.pool.query("SELECT * FROM celery_taskmeta WHERE task_id = $1", [id]);
    if (rows[0]?.status === wanted || Date.now() > until) return rows[0] ?? {};
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!celery.found)("Celery remote control against a TypeScript worker", () => {
  beforeAll(async () => {
    world = await interopWorld("control", ["tsctl"]);
    const config = world.config({ service: "tsctl", worker: { concurrency: 1, prefetch: 2 } });
    worker = createWorker({
      config,
      tasks: [
        implementTask(block, ({ args: [label] }, ctx) => {
          ran.push(label);
          started();
          return new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => resolve(`${label} done`), 20_000);
            ctx.signal.addEventListener("abort", () => {
              clearTimeout(timer);
              reject(ctx.signal.reason);
            });
          });
        }),
        implementTask(add, ({ args: [a, b] }) => {
          ran.push(`add ${a} ${b}`);
          return a + b;
        }),
      ],
      logger: pino({ level: "silent" }),
    });
    producer = createProducer({ config, contracts: [block, add], logger: pino({ level: "silent" }) });
    await Promise.all([worker.start(), producer.ready(20_000)]);
  });

  afterAll(async () => {
    await worker?.close({ graceMs: 500 });
    await producer?.close();
    await world?.close();
  });

  it("inspect() ping/registered/active/reserved/stats/active_queues, then revoke a queued task and terminate a running one", async () => {
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const held = await producer.send(block, ["held"]);
    await running;
    // `queued` waits in the worker for the one handler slot behind `held` (Celery's "reserved"); beyond the
    // prefetch of 2, `inBroker` is still in the broker's queue.
    const queued = await producer.send(add, [2, 3]);
    const inBroker = await producer.send(add, [4, 5]);
    await expect.poll(() => worker.stats.running).toBe(1);

    const client = world.python.start(["-m", "control_client"], {
      NODE: worker.nodeName,
      RUNNING: held.id,
      QUEUED: `${queued.id},${inBroker.id}`,
    });
    const inspect = JSON.parse(await client.line("INSPECT "));
    const node = worker.nodeName;
    expect(inspect.ping).toEqual({ [node]: { ok: "pong" } });
    expect(inspect.registered).toEqual({ [node]: ["tsctl.add", "tsctl.block"] });
    expect(inspect.active[node]).toEqual([
      expect.objectContaining({
        id: held.id,
        name: "tsctl.block",
        args: ["held"],
        hostname: node,
        worker_pid: process.pid,
        delivery_info: expect.objectContaining({ routing_key: "tsctl.block" }),
      }),
    ]);
    expect(inspect.active[node][0].time_start).toBeGreaterThan(Date.now() / 1_000 - 60);
    expect(inspect.reserved[node]).toEqual([
      expect.objectContaining({ id: queued.id, name: "tsctl.add", args: [2, 3], time_start: null }),
    ]);
    expect(inspect.stats[node]).toMatchObject({
      pid: process.pid,
      pool: { "max-concurrency": 1 },
      prefetch_count: 2,
      wt_service: "tsctl",
    });
    expect(inspect.active_queues[node]).toEqual([
      expect.objectContaining({ name: `${world.prefix}.tsctl`, routing_key: "tsctl.#" }),
    ]);

    const revoke = JSON.parse(await client.line("REVOKE "));
    expect(revoke.queued).toEqual([
      { [node]: { ok: `tasks ${queued.id}, ${inBroker.id} flagged as revoked` } },
    ]);
    const revoked = JSON.parse(await client.line("REVOKED "));
    expect([...revoked.revoked[node]].sort()).toEqual([held.id, queued.id, inBroker.id].sort());
    expect((await client.exited).code).toBe(0);

    // terminate=True fired the running handler's abort signal (it would run for 20 s otherwise); the
    // queued tasks never ran, whether they waited in the worker or in the broker.
    expect(await status(held.id, "REVOKED", 3_000)).toMatchObject({ status: "REVOKED" });
    expect(await status(queued.id, "REVOKED")).toMatchObject({ status: "REVOKED" });
    expect(await status(inBroker.id, "REVOKED")).toMatchObject({ status: "REVOKED" });
    expect(ran).toEqual(["held"]);
    expect(worker.stats).toMatchObject({ revoked: 3, succeeded: 0 });
  });

  it("worker-toolbox inspect asks TypeScript and Celery workers alike (a Python `celery worker` beside ours)", async () => {
    // It consumes tsctl's queue too (celery-config routes only the world's services); nothing is sent now.
    const python = await world.python.startWorker({ name: `py-${world.prefix}@localhost` });
    const env = {
      AMQP_URL: testServers().amqpUrl,
      WT_ENVIRONMENT_PREFIX: world.prefix,
      WT_MODE: "test",
      WT_LOG_LEVEL: "silent",
    };
    const inspect = (...argv: string[]) => runCliCaptured(["inspect", ...argv], env);
    const ping = await inspect("ping", "--json", "--timeout", "3000");
    expect(ping.code).toBe(0);
    expect(JSON.parse(ping.stdout)).toEqual({
      [worker.nodeName]: { ok: "pong" },
      [python.name]: { ok: "pong" },
    });
    const registered = await inspect("registered", "--destination", worker.nodeName);
    expect(registered).toMatchObject({ code: 0, stdout: `${worker.nodeName}: tsctl.add, tsctl.block\n` });
    const active = await inspect("active", "--destination", python.name, "--json");
    expect(JSON.parse(active.stdout)).toEqual({ [python.name]: [] });
    const nobody = await inspect("ping", "--destination", "nobody@nowhere", "--timeout", "300");
    expect(nobody).toMatchObject({ code: 1, stdout: "" });
    expect(nobody.stderr).toContain("no worker replied within 300 ms");
  });
});
