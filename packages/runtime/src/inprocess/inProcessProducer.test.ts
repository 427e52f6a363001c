import { defineTask, isToolboxError, parseConfig } from "@worker-toolbox/config";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { order, orderChain } from "../../../../test/fixtures/workers/orderChain.js";
import { chain, chord, group, partial, signature } from "../canvas/index.js";
import { implementTask, PermanentError } from "../worker/index.js";
import { createInProcessProducer } from "./inProcessProducer.js";

const config = parseConfig({ mode: "test", service: "wtest", logLevel: "silent" });
const logger = pino({ level: "silent" });

const add = defineTask({ name: "calc.add", args: z.tuple([z.number(), z.number()]), result: z.number() });
const double = defineTask({ name: "calc.double", args: z.tuple([z.number()]), result: z.number() });
const total = defineTask({
  name: "calc.total",
  args: z.tuple([z.array(z.number())]),
  result: z.number(),
});
const broken = defineTask({ name: "calc.broken", result: z.number() });
const refuses = defineTask({ name: "calc.refuses", result: z.null() });
const calc = [
  implementTask(add, ({ args: [a, b] }) => a + b),
  implementTask(double, ({ args: [n] }) => n * 2),
  implementTask(total, ({ args: [values] }) => values.reduce((sum, n) => sum + n, 0)),
  implementTask(broken, () => "not a number" as unknown as number),
  implementTask(refuses, () => {
    throw new PermanentError("never");
  }),
];

describe("createInProcessProducer", () => {
  it("runs a chain of sends in this process: defaults, progress, a retry on a skipped clock, transformed results", async () => {
    const producer = createInProcessProducer({ config, tasks: orderChain, logger });
    const started = Date.now();
    const { id, rootId } = await producer.send(order, ["o-1"]);
    // The 100 ms retry delay passed on the clock: skipped, or (on a slow machine) partly real.
    expect(producer.skippedMs + (Date.now() - started)).toBeGreaterThanOrEqual(100);

    const root = await producer.results.getTask(id);
    expect(root.status).toBe("SUCCESS");
    expect(root.result).toMatchObject({ value: { orderId: "o-1", units: 3 }, retries: 0 });
    expect(root.result?.meta).toEqual({ done: 1, total: 2, note: "reserved" });

    const family = await producer.results.getFamily(rootId);
    const byName = Object.fromEntries(family.tasks.map((task) => [task.name, task.result]));
    expect(family.status).toBe("SUCCESS");
    expect(byName["wtest.pack"]).toMatchObject({
      status: "SUCCESS",
      value: "o-1: 3 units packed",
      retries: 1,
      parentId: id,
      rootId,
    });
    expect(byName["wtest.ship"]).toMatchObject({ status: "SUCCESS", value: "2026", retries: 0 });
    expect(producer.deadLetters).toEqual([]);
  });

  it("checks a call before running it, and dead-letters what the worker would", async () => {
    const producer = createInProcessProducer({ config, tasks: calc, logger });
    await expect(producer.send(add, [1, "2" as unknown as number])).rejects.toMatchObject({
      code: "TASK_ARGS_INVALID",
    });
    const bad = await producer.send(broken, []);
    const refused = await producer.send(refuses, []);
    expect((await producer.results.getTask(bad.id)).status).toBe("FAILURE");
    expect((await producer.results.getTask(refused.id)).result?.error?.type).toBe("PermanentError");
    expect(producer.deadLetters.map((letter) => [letter.task, letter.reason, letter.attempts])).toEqual([
      ["calc.broken", "invalid-result", 1],
      ["calc.refuses", "permanent-error", 1],
    ]);
  });

  it("runs canvas steps: a chain applied by the producer continues with each result", async () => {
    const producer = createInProcessProducer({ config, tasks: calc, logger });
    const receipt = await producer.apply(
      chain(signature(add, [2, 3]), partial(double, []), partial(double, [])),
    );
    const last = await producer.results.waitForResult(receipt.id, { timeoutMs: 1_000 });
    expect(last.result?.value).toBe(20);
    expect((await producer.results.getFamily(receipt.rootId)).tasks).toHaveLength(3);
  });

  it("runs a chord: the header, then celery.chord_unlock (the worker's builtin), then the body with every value", async () => {
    const producer = createInProcessProducer({ config, tasks: calc, logger });
    const receipt = await producer.apply(
      chord(group(signature(add, [1, 2]), signature(add, [3, 4])), partial(total, [])),
    );
    const body = await producer.results.waitForResult(receipt.id, { timeoutMs: 1_000 });
    expect(body.result?.value).toBe(10);
    expect(producer.deadLetters).toEqual([]);
  });

  it("waits for an eta only when asked: countdowns run at once on the skipped clock", async () => {
    const producer = createInProcessProducer({ config, tasks: calc, logger });
    const { id } = await producer.send(add, [1, 1], {}, { countdownMs: 60_000 });
    expect((await producer.results.getTask(id)).result?.value).toBe(2);
    expect(producer.skippedMs).toBeGreaterThan(59_000);
  });

  it("stores STARTED before the handler when the worker would (worker.trackStarted)", async () => {
    const tracking = parseConfig({ mode: "test", logLevel: "silent", worker: { trackStarted: true } });
    const tracked = createInProcessProducer({ config: tracking, tasks: calc, logger });
    const untracked = createInProcessProducer({ config, tasks: calc, logger });
    const a = await tracked.send(add, [1, 2]);
    const b = await untracked.send(add, [1, 2]);
    expect((await tracked.results.getTask(a.id)).result?.startedAt).toBeInstanceOf(Date);
    expect((await untracked.results.getTask(b.id)).result?.startedAt).toBeNull();
  });

  it("waits for real when asked: delays real", async () => {
    const producer = createInProcessProducer({ config, tasks: calc, logger, delays: "real" });
    const started = Date.now();
    const { id } = await producer.send(add, [2, 2], {}, { countdownMs: 150 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(producer.skippedMs).toBe(0);
    expect((await producer.results.getTask(id)).result?.value).toBe(4);
  });

  it("spaces a rate-limited task type's runs as a worker does (other types run meanwhile), on the skipped clock or for real", async () => {
    const limited = defineTask({
      name: "calc.limited",
      args: z.tuple([z.number()]),
      result: z.number(),
      rateLimit: "4/s",
    });
    const ran: string[] = [];
    const tasks = [
      implementTask(limited, ({ args: [n] }) => {
        ran.push(`limited ${n}`);
        return n;
      }),
      implementTask(double, ({ args: [n] }) => {
        ran.push(`double ${n}`);
        return n * 2;
      }),
    ];
    const sent = group(
      signature(limited, [1]),
      signature(limited, [2]),
      signature(limited, [3]),
      signature(double, [1]),
    );
    const skipping = createInProcessProducer({ config, tasks, logger });
    const started = Date.now();
    await skipping.apply(sent);
    // Turns 250 ms apart in arrival order: the third at +500 ms; the double did not wait for them.
    expect(ran).toEqual(["limited 1", "double 1", "limited 2", "limited 3"]);
    expect(skipping.skippedMs + (Date.now() - started)).toBeGreaterThanOrEqual(490);
    expect(skipping.skippedMs).toBeLessThan(600);

    ran.length = 0;
    const real = createInProcessProducer({ config, tasks, logger, delays: "real" });
    const begun = Date.now();
    await real.apply(sent);
    expect(ran).toEqual(["limited 1", "double 1", "limited 2", "limited 3"]);
    expect(Date.now() - begun).toBeGreaterThanOrEqual(490);
    expect(real.skippedMs).toBe(0);

    // A task whose expiry passes while it waits for its turn is not run: REVOKED, as on a worker.
    ran.length = 0;
    const expiring = createInProcessProducer({ config, tasks, logger });
    const receipts = await expiring.sendMany(limited, [
      { args: [1] },
      { args: [2], options: { expires: 100 } },
    ]);
    expect(ran).toEqual(["limited 1"]);
    const second = receipts[1]?.status === "fulfilled" ? receipts[1].value.id : "";
    expect((await expiring.results.getTask(second)).status).toBe("REVOKED");
  });

  it("refuses production mode with a typed error", () => {
    const production = parseConfig({
      mode: "production",
      environment: { prefix: "prod" },
      broker: { url: "amqps://u:p@broker:5671/" },
      database: { url: "postgres://u:p@db:5432/results?sslmode=verify-full" },
    });
    let thrown: unknown;
    try {
      createInProcessProducer({ config: production, tasks: calc, logger });
    } catch (error) {
      thrown = error;
    }
    expect(isToolboxError(thrown, "IN_PROCESS_REFUSED")).toBe(true);
    expect((thrown as Error).message).toMatch(/refuses production mode/);
  });
});
