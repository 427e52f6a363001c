import { startRabbitMQ } from "@worker-toolbox/testing";
import { describe, expect, it } from "vitest";
import { finishFaultRun, startFaultRun, successCount, withOwnServer } from "./faults.js";

const TASKS = 10_000;
const own = withOwnServer("broker-restart", startRabbitMQ, (rabbit) => ({
  amqpUrl: rabbit.url,
  managementUrl: rabbit.managementUrl,
}));

describe("RabbitMQ killed and restarted while the worker runs", () => {
  it("reconnects, re-declares, resubscribes, and every task ends with exactly one SUCCESS row", async () => {
    const { h, server: rabbit } = own;
    const run = await startFaultRun(h, TASKS);
    // A crash rather than a graceful stop: the connection drops at once, so the restart is certainly
    // mid-run however fast the worker is (a graceful stop takes seconds, enough to finish the run).
    await rabbit.kill();
    const whileDown = (await successCount(h)) ?? 0;
    expect(whileDown).toBeLessThan(TASKS); // The broker really went away mid-run.
    await rabbit.start();
    await finishFaultRun(h, run);
    // It went through recovering and came back to ready (before the SIGTERM that ended the run).
    const states = run.proc.events.filter((e) => e.event === "state").map((e) => e.state);
    const recovering = states.lastIndexOf("recovering");
    expect(recovering).toBeGreaterThanOrEqual(0);
    expect(states.slice(recovering)).toContain("ready");
  }, 300_000);
});
