import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTaskMessage, newTaskMessage } from "../../packages/runtime/src/protocol/index.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { add, alwaysFails, flaky, implementations, permanent, SERVICE } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "../worker/harness.js";
import { get, getJson, type Samples, sample, scrape } from "./scrape.js";

let h: Harness;
let worker: Worker;
let port: number;

beforeAll(async () => {
  // healthPort 0: createWorker starts the endpoint itself, on a free port.
  h = await createHarness("metrics", testServers(), { worker: { healthPort: 0 } });
  worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
  await worker.start();
  port = worker.healthServer?.port ?? 0;
});

afterAll(async () => {
  await worker?.close({ graceMs: 1_000 });
  await h?.close();
});

const M = "worker_toolbox_";
const labels = (task: string, extra: Record<string, string> = {}) => ({ service: SERVICE, task, ...extra });

async function scrapeUntil(done: (samples: Samples) => boolean, timeoutMs = 20_000): Promise<Samples> {
  const until = Date.now() + timeoutMs;
  let last = await scrape(port);
  while (!done(last)) {
    if (Date.now() > until) throw new Error(`metrics did not settle:\n${[...last].join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await scrape(port);
  }
  return last;
}

describe("worker metrics", () => {
  it("starts the endpoint from worker.healthPort: every known task at 0, consumer active, broker connected", async () => {
    expect(port).toBeGreaterThan(0);
    // worker.healthHost unset in the harness's config: the test preset's loopback.
    expect(worker.healthServer?.host).toBe("127.0.0.1");
    const answer = await get(port, "/metrics");
    expect(answer.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = await scrape(port);
    for (const impl of implementations) {
      expect(sample(samples, `${M}tasks_received_total`, labels(impl.contract.name))).toBe(0);
    }
    expect(sample(samples, `${M}tasks_received_total`, labels("unknown"))).toBe(0);
    expect(sample(samples, `${M}consumer_active`, { service: SERVICE })).toBe(1);
    expect(sample(samples, `${M}broker_connection_state`, { service: SERVICE, state: "connected" })).toBe(1);
    expect(sample(samples, `${M}broker_connection_state`, { service: SERVICE, state: "recovering" })).toBe(0);
    expect(sample(samples, `${M}tasks_in_flight`, { service: SERVICE })).toBe(0);
    expect((await getJson(port, "/readyz")).status).toBe(200);
    expect((await get(port, "/nothing")).status).toBe(404);
  });

  it("counts exactly what ran: successes, retries then success, permanent failures, exhausted retries, unknown tasks", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await h.producer.send(add, [i, 1])).id);
    for (let i = 0; i < 3; i++) ids.push((await h.producer.send(flaky, [], { failures: 1 })).id);
    for (let i = 0; i < 2; i++) ids.push((await h.producer.send(permanent, [])).id);
    ids.push((await h.producer.send(alwaysFails, [])).id); // maxAttempts 3: fails 3 times, retried twice
    const unknown = newTaskMessage({ task: `${SERVICE}.nobodyHome`, args: [] });
    const encoded = encodeTaskMessage(unknown);
    await h.publishRaw(unknown.task, encoded.content, encoded.properties);

    const dead = (s: Samples, task: string, reason: string) =>
      sample(s, `${M}tasks_dead_lettered_total`, labels(task, { reason })) ?? 0;
    const samples = await scrapeUntil(
      (s) =>
        (sample(s, `${M}tasks_succeeded_total`, labels(add.name)) ?? 0) +
          (sample(s, `${M}tasks_succeeded_total`, labels(flaky.name)) ?? 0) ===
          8 &&
        dead(s, permanent.name, "permanent-error") +
          dead(s, alwaysFails.name, "retries-exhausted") +
          dead(s, "unknown", "unknown-task") ===
          4,
    );
    const rows = await h.rows(ids);
    expect(rows.filter((row) => row.status === "SUCCESS")).toHaveLength(8);
    expect(rows.filter((row) => row.status === "FAILURE")).toHaveLength(3);

    const expected: Record<string, Record<string, number>> = {
      tasks_received_total: {
        [add.name]: 5,
        [flaky.name]: 6,
        [permanent.name]: 2,
        [alwaysFails.name]: 3,
        unknown: 1,
      },
      tasks_succeeded_total: { [add.name]: 5, [flaky.name]: 3, [permanent.name]: 0, [alwaysFails.name]: 0 },
      tasks_failed_total: { [add.name]: 0, [flaky.name]: 3, [permanent.name]: 2, [alwaysFails.name]: 3 },
      tasks_retried_total: { [add.name]: 0, [flaky.name]: 3, [permanent.name]: 0, [alwaysFails.name]: 2 },
      tasks_revoked_total: { [add.name]: 0, [flaky.name]: 0, [permanent.name]: 0, [alwaysFails.name]: 0 },
      task_duration_seconds_count: {
        [add.name]: 5,
        [flaky.name]: 6,
        [permanent.name]: 2,
        [alwaysFails.name]: 3,
      },
    };
    for (const [metric, byTask] of Object.entries(expected)) {
      for (const [task, count] of Object.entries(byTask)) {
        expect(sample(samples, `${M}${metric}`, labels(task)), `${metric}{task=${task}}`).toBe(count);
      }
    }
    expect(dead(samples, permanent.name, "permanent-error")).toBe(2);
    expect(dead(samples, alwaysFails.name, "retries-exhausted")).toBe(1);
    expect(dead(samples, "unknown", "unknown-task")).toBe(1);
    // The histogram's largest bucket holds every run.
    expect(sample(samples, `${M}task_duration_seconds_bucket`, labels(add.name, { le: "+Inf" }))).toBe(5);

    // Rows written: 8 SUCCESS + 5 RETRY (3 flaky, 2 alwaysFails) + 4 FAILURE beside the dead letters.
    expect(sample(samples, `${M}result_batch_size_sum`, { service: SERVICE })).toBe(17);
    expect(sample(samples, `${M}result_write_errors_total`, { service: SERVICE })).toBe(0);
    const writes = sample(samples, `${M}result_write_seconds_count`, { service: SERVICE }) ?? 0;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBe(sample(samples, `${M}result_batch_size_count`, { service: SERVICE }));
    expect(sample(samples, `${M}tasks_in_flight`, { service: SERVICE })).toBe(0);
    expect(sample(samples, `${M}results_pending`, { service: SERVICE })).toBe(0);
  });

  it("shows a running task in flight", async () => {
    const { sleep } = await import("../fixtures/workers/tasks.js");
    const { id } = await h.producer.send(sleep, [600]);
    const samples = await scrapeUntil((s) => sample(s, `${M}tasks_in_flight`, { service: SERVICE }) === 1);
    expect(sample(samples, `${M}tasks_received_total`, labels(sleep.name))).toBe(1);
    await h.waitForStatus(id, "SUCCESS");
    await scrapeUntil((s) => sample(s, `${M}tasks_in_flight`, { service: SERVICE }) === 0);
  });

  it("two workers in one process keep separate registries; a shared one is refused with a hint", () => {
    const other = createWorker({
      config: { ...h.config, worker: { ...h.config.worker, healthPort: undefined } },
      tasks: implementations,
      logger: testLogger,
    });
    expect(other.metrics).not.toBe(worker.metrics);
    let error: unknown;
    try {
      createWorker({
        config: h.config,
        tasks: implementations,
        logger: testLogger,
        registry: worker.metrics,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "CONFIG_INVALID" });
    expect((error as Error).message).toMatch(/already has worker_toolbox_tasks_received_total/);
    return other.close();
  });

  it("close() stops the endpoint it started", async () => {
    await worker.close({ graceMs: 1_000 });
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
