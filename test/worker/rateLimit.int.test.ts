import { defineTask } from "@worker-toolbox/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { createWorker, implementTask, type Worker } from "../../packages/runtime/src/worker/index.js";
import { SERVICE } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "./harness.js";

/**
 * A contract's `rateLimit` (Celery's `@app.task(rate_limit="5/s")`): the worker starts at most that many runs
 * a second of the task, however many handler slots are free, while other task types run meanwhile.
 */
const paced = defineTask({
  name: `${SERVICE}.paced`,
  args: z.tuple([z.number()]),
  result: z.number(),
  rateLimit: "5/s",
});
const free = defineTask({ name: `${SERVICE}.free`, args: z.tuple([z.number()]), result: z.number() });
/** One run a minute: the second and third wait in the worker for their turn. */
const scarce = defineTask({
  name: `${SERVICE}.scarce`,
  args: z.tuple([z.number()]),
  result: z.number(),
  rateLimit: "1/m",
});

let h: Harness;
let worker: Worker;
let producer: Producer;
const started = new Map<string, number[]>();
/** Record that `name` started now; returns `n` (the handlers' result). */
function note(name: string, n: number): number {
  started.set(name, [...(started.get(name) ?? []), Date.now()]);
  return n;
}

describe("a contract's rateLimit", () => {
  beforeAll(async () => {
    h = await createHarness("ratelimit", testServers(), { worker: { concurrency: 8, prefetch: 20 } });
    worker = createWorker({
      config: h.config,
      tasks: [
        implementTask(paced, ({ args: [n] }) => note("paced", n)),
        implementTask(free, ({ args: [n] }) => note("free", n)),
        implementTask(scarce, ({ args: [n] }) => note("scarce", n)),
      ],
      logger: testLogger,
    });
    producer = createProducer({ config: h.config, contracts: [paced, free, scarce], logger: testLogger });
    await Promise.all([worker.start(), producer.ready(20_000)]);
  });

  afterAll(async () => {
    await worker?.close({ graceMs: 500 });
    await producer?.close();
    await h?.close();
  });

  it("spaces the task's runs 1/rate apart; other task types are not held up", async () => {
    const pacedIds = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => producer.send(paced, [n])));
    const freeIds = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => producer.send(free, [n])));
    await Promise.all(
      [...pacedIds, ...freeIds].map((receipt) => h.waitForStatus(receipt.id, "SUCCESS", 10_000)),
    );
    const runs = started.get("paced")!;
    // Six runs at 5 a second: five gaps of 200 ms (the first runs at once).
    expect(runs.at(-1)! - runs[0]!).toBeGreaterThanOrEqual(950);
    // Turns are booked at arrival (t0, t0 + 200, ...), so a run whose timer fired late under load is
    // followed by a shorter gap (163 ms seen at load 14); unlimited runs would be ~0 ms apart.
    const gaps = runs.slice(1).map((at, i) => at - runs[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
    // The unlimited task ran while the paced one waited for its turns.
    expect(started.get("free")!.at(-1)!).toBeLessThan(runs.at(-1)!);
  });

  // Last: it stops the worker.
  it("tasks waiting for their turn go back to the queue on shutdown: another worker runs them", async () => {
    const [first, ...waiting] = await Promise.all([1, 2, 3].map((n) => producer.send(scarce, [n])));
    await h.waitForStatus(first!.id, "SUCCESS", 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the other two are held, waiting for a turn
    expect(started.get("scarce")).toHaveLength(1);
    await worker.close({ graceMs: 500 });
    // The same task with no rate limit, in a worker of its own: it finds the two in the queue.
    const unlimited = defineTask({ name: scarce.name, args: scarce.args, result: scarce.result });
    const next = createWorker({
      config: h.config,
      tasks: [implementTask(unlimited, ({ args: [n] }) => note("scarce", n))],
      logger: testLogger,
    });
    try {
      await next.start();
      await Promise.all(waiting.map((receipt) => h.waitForStatus(receipt.id, "SUCCESS", 10_000)));
      expect(started.get("scarce")).toHaveLength(3);
    } finally {
      await next.close({ graceMs: 500 });
    }
  });
});
