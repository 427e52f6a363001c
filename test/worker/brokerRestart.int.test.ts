import { type RabbitMQServer, startRabbitMQ } from "@worker-toolbox/runtime/testing";
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
// Our own node: restarting the shared one would break every other test file running meanwhile.
let rabbit: RabbitMQServer;
let h: Harness;

beforeAll(async () => {
  rabbit = await startRabbitMQ();
  h = await createHarness(
    "broker-restart",
    { ...testServers(), amqpUrl: rabbit.url, managementUrl: rabbit.managementUrl },
    { worker: FAULT_WORKER },
  );
}, 180_000);

afterAll(async () => {
  await killWorkerProcesses();
  await h?.close();
  await rabbit?.dispose();
}, 120_000);

describe("RabbitMQ killed and restarted while the worker runs", () => {
  it("reconnects, re-declares, resubscribes, and every task ends with exactly one SUCCESS row", async () => {
    const ids = await sendEchoes(h, TASKS);
    const proc = startWorkerProcess(h.config);
    await proc.ready;
    await waitForSuccesses(h, Math.floor(TASKS * (0.2 + Math.random() * 0.3)), 120_000);
    // A crash rather than a graceful stop: the connection drops at once, so the restart is certainly
    // mid-run however fast the worker is (a graceful stop takes seconds, enough to finish the run).
    await rabbit.kill();
    const whileDown = (await successCount(h)) ?? 0;
    expect(whileDown).toBeLessThan(TASKS); // The broker really went away mid-run.
    await rabbit.start();
    await waitForSuccesses(h, TASKS, 180_000);
    const states = proc.events.filter((e) => e.event === "state").map((e) => e.state);
    expect(states).toContain("recovering");
    expect(states.at(-1)).toBe("ready");
    proc.child.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    await expectEveryTaskSucceededOnce(h, ids);
  }, 300_000);
});
