import { defineTask } from "@worker-toolbox/config";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import {
  createWorker,
  implementTask,
  RetryableError,
  type Worker,
} from "../../packages/runtime/src/worker/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { runCliCaptured } from "../support/cli.js";
import { cliEnv } from "./controlCalls.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * `inspect().scheduled()` from Python Celery (and `worker-toolbox inspect scheduled`) against a TypeScript
 * worker: a task sent with a countdown and a task waiting for its retry are listed as Celery lists the ETA
 * tasks a worker holds — eta, priority, request — by the worker that parked them in a delay rung.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Celery inspect scheduled interop tests", celery.reason);

const later = defineTask({ name: "tssch.later", args: z.tuple([z.string()]), result: z.string() });
const flaky = defineTask({ name: "tssch.flaky", args: z.tuple([z.number()]), result: z.number() });

let world: InteropWorld;
let worker: Worker;
let producer: Producer;

describe.skipIf(!celery.found)("inspect scheduled against a TypeScript worker", () => {
  beforeAll(async () => {
    world = await interopWorld("controlsched", ["tssch"]);
    const config = world.config({ service: "tssch" });
    worker = createWorker({
      config,
      tasks: [
        implementTask(later, ({ args: [label] }) => label),
        implementTask(flaky, () => {
          throw new RetryableError("not yet", { delayMs: 90_000 });
        }),
      ],
      logger: pino({ level: "silent" }),
    });
    producer = createProducer({ config, contracts: [later, flaky], logger: pino({ level: "silent" }) });
    await Promise.all([worker.start(), producer.ready(20_000)]);
  });

  afterAll(async () => {
    await worker?.close({ graceMs: 500 });
    await producer?.close();
    await world?.close();
  });

  it("lists a countdown task and a retry as Celery's inspect().scheduled() does", async () => {
    const sentAt = Date.now();
    const due = await producer.send(later, ["in a minute"], undefined, { countdownMs: 60_000, priority: 3 });
    const retrying = await producer.send(flaky, [7]);
    await expect.poll(() => worker.stats.delayed, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => worker.stats.retried, { timeout: 10_000 }).toBe(1);

    const client = world.python.start(["-m", "control_calls", JSON.stringify(["inspect", "scheduled", {}])], {
      NODE: worker.nodeName,
    });
    const scheduled = JSON.parse(await client.line("RESULT0 "));
    expect((await client.exited).code).toBe(0);
    const node = worker.nodeName;
    expect(Object.keys(scheduled)).toEqual([node]);
    const [first, second] = scheduled[node];
    expect(first).toEqual({
      eta: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
      priority: 3,
      request: expect.objectContaining({
        id: due.id,
        name: "tssch.later",
        args: ["in a minute"],
        kwargs: {},
        hostname: node,
        time_start: null,
        delivery_info: expect.objectContaining({ routing_key: "tssch.later" }),
      }),
    });
    expect(Date.parse(first.eta) - sentAt).toBeGreaterThanOrEqual(59_000);
    expect(Date.parse(first.eta) - sentAt).toBeLessThan(61_000);
    // The retry waits 90 s: listed after the countdown task (soonest first).
    expect(second).toMatchObject({ request: { id: retrying.id, name: "tssch.flaky", args: [7] } });
    expect(Date.parse(second.eta) - sentAt).toBeGreaterThanOrEqual(89_000);

    const env = cliEnv(world);
    const cli = await runCliCaptured(["inspect", "scheduled", "--destination", node], env);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`${node}: 2 scheduled`);
    expect(cli.stdout).toContain(`${due.id} tssch.later ["in a minute"] eta ${first.eta}`);
  });
});
