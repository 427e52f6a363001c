import { type PostgresServer, startPostgres } from "@worker-toolbox/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServers } from "../support/servers.js";
import {
  expectEveryTaskSucceededOnce,
  FAULT_WORKER,
  killWorkerProcesses,
  sendEchoes,
  startWorkerProcess,
  successCount,
  waitForSuccesses,
} from "./faults.js";
import { createHarness, type Harness } from "./harness.js";

const TASKS = 10_000;
// Our own cluster: stopping the shared one would break every other test file running meanwhile.
let postgres: PostgresServer;
let h: Harness;

beforeAll(async () => {
  postgres = await startPostgres();
  h = await createHarness(
    "db-outage",
    { ...testServers(), databaseUrl: postgres.url },
    { worker: FAULT_WORKER },
  );
}, 180_000);

afterAll(async () => {
  await killWorkerProcesses();
  await h?.close().catch(() => undefined);
  await postgres?.dispose();
}, 120_000);

describe("PostgreSQL stopped for 10 s while the worker runs", () => {
  it("acks nothing without its row: the worker waits the outage out and every task ends with one SUCCESS row", async () => {
    const ids = await sendEchoes(h, TASKS);
    const proc = startWorkerProcess(h.config);
    await proc.ready;
    await waitForSuccesses(h, Math.floor(TASKS * (0.2 + Math.random() * 0.3)), 120_000);
    await postgres.stop();
    const stoppedAt = Date.now();
    // While the database is down nothing can be stored, so nothing may be acked: messages stay unacked
    // (bounded by the prefetch) or ready in the queue; none disappears.
    const during: number[] = [];
    while (Date.now() - stoppedAt < 10_000) {
      const { queue } = await h.depths();
      during.push(queue);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await postgres.start();
    const storedBefore = (await successCount(h)) ?? 0;
    expect(storedBefore).toBeLessThan(TASKS);
    // The ready count cannot fall by more than the prefetch while nothing is stored or acked.
    expect(Math.max(...during) - Math.min(...during)).toBeLessThanOrEqual(FAULT_WORKER.prefetch);
    await waitForSuccesses(h, TASKS, 180_000);
    proc.child.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    expect(proc.stderr()).toMatch(/storing results failed; retrying/);
    await expectEveryTaskSucceededOnce(h, ids);
  }, 300_000);
});
