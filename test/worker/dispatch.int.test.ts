import { parseConfig } from "@worker-toolbox/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { echo, implementations, sleep } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "./harness.js";

/**
 * user-pains.md §7 and §8: a long delay must not hold back a short one (no head-of-line blocking in the
 * delay queues), and a worker busy with a long task must not hoard the short tasks behind it while
 * another worker sits idle. docs/worker.md ("Long tasks") gives the setting this relies on: a prefetch
 * equal to the concurrency.
 */
let h: Harness;
const workers: Worker[] = [];

beforeAll(async () => {
  h = await createHarness("dispatch", testServers(), { worker: { concurrency: 1, prefetch: 1 } });
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.close({ graceMs: 500 })));
  await h?.close();
});

async function startWorker(prefetch: number): Promise<Worker> {
  const config = parseConfig({ ...h.config, worker: { ...h.config.worker, prefetch } });
  const worker = createWorker({ config, tasks: implementations, logger: testLogger });
  workers.push(worker);
  await worker.start();
  return worker;
}

const doneAt = async (id: string) => {
  await h.waitForStatus(id, "SUCCESS", 20_000);
  return Date.now();
};

describe("dispatch", () => {
  it("a short countdown sent after a long one runs first: each waits in its own delay rung", async () => {
    await startWorker(1);
    try {
      const sent = Date.now();
      const long = await h.producer.send(echo, [1], undefined, { countdownMs: 3_000 });
      const short = await h.producer.send(echo, [2], undefined, { countdownMs: 300 });
      const [longDone, shortDone] = await Promise.all([doneAt(long.id), doneAt(short.id)]);
      expect(shortDone - sent).toBeLessThan(2_000);
      expect(longDone - sent).toBeGreaterThanOrEqual(2_950);
    } finally {
      await Promise.all(workers.splice(0).map((worker) => worker.close({ graceMs: 500 })));
    }
  });

  it("with prefetch = concurrency, a worker busy with a long task leaves the short ones to an idle worker", async () => {
    const busy = await startWorker(1);
    const sent = Date.now();
    const long = await h.producer.send(sleep, [4_000]);
    await expect.poll(() => busy.stats.running, { timeout: 10_000 }).toBe(1);
    const idle = await startWorker(1);
    const shorts = await Promise.all(Array.from({ length: 6 }, (_, i) => h.producer.send(echo, [i])));
    const shortsDone = Math.max(...(await Promise.all(shorts.map(({ id }) => doneAt(id)))));
    expect(shortsDone - sent, "the short tasks waited behind the long one").toBeLessThan(3_500);
    expect(idle.stats.succeeded).toBe(6);
    await doneAt(long.id);
  });
});
