import { describe, expect, it } from "vitest";
import {
  expectEveryTaskSucceededOnce,
  sendEchoes,
  startWorkerProcess,
  waitForSuccesses,
  withFaultHarness,
} from "./faults.js";

const TASKS = 10_000;
const fault = withFaultHarness("kill9");

describe("worker process killed with SIGKILL", () => {
  it("loses nothing: after three kills and restarts every task has exactly one SUCCESS row", async () => {
    const { h } = fault;
    const ids = await sendEchoes(h, TASKS);
    // Kill at random points in three windows of the run.
    const killAt = [0.1, 0.4, 0.7].map((from) => Math.floor(TASKS * (from + Math.random() * 0.2)));
    let kills = 0;
    for (const threshold of killAt) {
      const proc = startWorkerProcess(h.config);
      await proc.ready;
      await waitForSuccesses(h, threshold, 120_000);
      proc.child.kill("SIGKILL");
      const { signal } = await proc.exited;
      expect(signal).toBe("SIGKILL");
      kills += 1;
    }
    const last = startWorkerProcess(h.config);
    await last.ready;
    await waitForSuccesses(h, TASKS, 180_000);
    // Give redelivered duplicates time to show up, if any were going to write a second row.
    await new Promise((resolve) => setTimeout(resolve, 500));
    last.child.kill("SIGTERM");
    expect((await last.exited).code).toBe(0);
    expect(kills).toBe(3);
    await expectEveryTaskSucceededOnce(h, ids);
  });
});
