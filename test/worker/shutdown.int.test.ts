import { entityNames } from "@worker-toolbox/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorker } from "../../packages/runtime/src/worker/index.js";
import { implementations, SERVICE, sleep } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { killWorkerProcesses, startWorkerProcess } from "./faults.js";
import { createHarness, type Harness, testLogger } from "./harness.js";

let h: Harness;

beforeAll(async () => {
  h = await createHarness("shutdown", testServers(), { worker: { concurrency: 4, prefetch: 4 } });
});

afterAll(async () => {
  await killWorkerProcesses();
  await h?.close();
});

const unacked = async () => {
  const response = await (await h.channel()).checkQueue(entityNames(h.prefix).serviceQueue(SERVICE));
  return response.messageCount;
};

describe("SIGTERM", () => {
  it("lets tasks in flight finish, returns the rest, and exits 0", async () => {
    const proc = startWorkerProcess({ ...h.config, worker: { ...h.config.worker, shutdownGraceMs: 10_000 } });
    await proc.ready;
    const sent = await Promise.all(Array.from({ length: 12 }, () => h.producer.send(sleep, [1_500])));
    await new Promise((resolve) => setTimeout(resolve, 500)); // Four are running, eight wait in the queue.
    const signalledAt = Date.now();
    proc.child.kill("SIGTERM");
    const { code } = await proc.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    const done = (await h.rows(sent.map((s) => s.id))).filter((row) => row.status === "SUCCESS");
    expect(done.length).toBe(4); // The four in flight finished and were stored before the exit.
    expect(await unacked()).toBe(8);

    // Another worker picks up the rest: every task ends with one SUCCESS row.
    const next = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
    await next.start();
    for (const { id } of sent) await h.waitForStatus(id, "SUCCESS");
    await next.close();
  });

  it("aborts tasks still running when the grace period ends and returns their messages", async () => {
    const proc = startWorkerProcess({ ...h.config, worker: { ...h.config.worker, shutdownGraceMs: 300 } });
    await proc.ready;
    const { id } = await h.producer.send(sleep, [30_000]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const signalledAt = Date.now();
    proc.child.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    const exit = proc.events.find((e) => e.event === "exit") as { stats: { requeued: number } } | undefined;
    expect(exit?.stats.requeued).toBe(1);
    expect(await h.row(id)).toBeUndefined();
    expect(await unacked()).toBe(1); // Back in the queue, for the next worker.
    await (await h.channel()).purgeQueue(entityNames(h.prefix).serviceQueue(SERVICE));
  });
});
