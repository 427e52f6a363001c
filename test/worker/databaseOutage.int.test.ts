import { startPostgres } from "@worker-toolbox/testing";
import { describe, expect, it } from "vitest";
import { FAULT_WORKER, finishFaultRun, startFaultRun, successCount, withOwnServer } from "./faults.js";

const TASKS = 10_000;
const own = withOwnServer("db-outage", startPostgres, (postgres) => ({ databaseUrl: postgres.url }));

describe("PostgreSQL stopped for 10 s while the worker runs", () => {
  it("acks nothing without its row: the worker waits the outage out and every task ends with one SUCCESS row", async () => {
    const { h, server: postgres } = own;
    const run = await startFaultRun(h, TASKS);
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
    await finishFaultRun(h, run);
    expect(run.proc.stderr()).toMatch(/storing results failed; retrying/);
  }, 300_000);
});
