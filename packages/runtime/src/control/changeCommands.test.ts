import { describe, expect, it } from "vitest";
import { CHANGE_COMMANDS, type WorkerSettings } from "./changeCommands.js";

function fakeWorker() {
  const calls: unknown[][] = [];
  let slots = 4;
  const settings: WorkerSettings = {
    concurrency: () => slots,
    setConcurrency: (size) => {
      slots = size;
    },
    setRateLimit(task, perSecond) {
      calls.push(["rate", task, perSecond]);
      return task === "svc.a";
    },
    setTimeLimits(task, limits) {
      calls.push(["time", task, limits]);
      return task === "svc.a";
    },
    shutdown: (reason) => void calls.push(["shutdown", reason]),
    addConsumer: async (queue) => {
      calls.push(["add", queue]);
      return { ok: `add consumer ${queue}` };
    },
    cancelConsumer: async (queue) => {
      calls.push(["cancel", queue]);
      return { ok: `no longer consuming from ${queue}` };
    },
  };
  const run = (method: string, args: Record<string, unknown> = {}) =>
    CHANGE_COMMANDS[method]!(args, settings);
  return { run, calls, slots: () => slots };
}

describe("remote control commands that change a worker", () => {
  it("pool_grow / pool_shrink by n (default 1), within 1..1000, in Celery's words", () => {
    const w = fakeWorker();
    expect(w.run("pool_grow")).toEqual({ ok: "pool will grow" });
    expect(w.run("pool_shrink", { n: "3" })).toEqual({ ok: "pool will shrink" });
    expect(w.slots()).toBe(2);
    expect(w.run("pool_shrink", { n: 2 })).toEqual({
      error: "pool_shrink: the pool has 2 slot(s) and keeps at least 1",
    });
    expect(w.run("pool_grow", { n: 999 })).toEqual({
      error: "pool_grow: at most 1000 slots (asked for 1001)",
    });
    expect(w.run("pool_grow", { n: 1.5 })).toEqual({
      error: "pool_grow: n must be a whole number ≥ 1, got 1.5",
    });
    expect(w.slots()).toBe(2);
    expect(w.run("autoscale", { max: 3, min: 1 })).toEqual({ error: "Autoscale not enabled" });
  });

  it("rate_limit and time_limit per task type; seconds become ms, null or 0 means none", () => {
    const w = fakeWorker();
    expect(w.run("rate_limit", { task_name: "svc.a", rate_limit: "6/m" })).toEqual({
      ok: "new rate limit set successfully",
    });
    expect(w.run("rate_limit", { task_name: "svc.a", rate_limit: null })).toEqual({
      ok: "rate limit disabled successfully",
    });
    expect(w.run("rate_limit", { task_name: "svc.b", rate_limit: 1 })).toEqual({ error: "unknown task" });
    expect(w.run("time_limit", { task_name: "svc.a", soft: 1.5, hard: null })).toEqual({
      ok: "time limits set successfully",
    });
    expect(w.run("time_limit", { task_name: "svc.a", soft: -1 })).toMatchObject({
      error: expect.any(String),
    });
    expect(w.calls).toEqual([
      ["rate", "svc.a", 0.1],
      ["rate", "svc.a", 0],
      ["rate", "svc.b", 1],
      ["time", "svc.a", { hard: null, soft: 1_500 }],
    ]);
  });

  it("shutdown answers, then stops the worker with Celery's message", () => {
    const w = fakeWorker();
    expect(w.run("shutdown")).toEqual({ ok: "shutting down" });
    expect(w.calls).toEqual([["shutdown", "Got shutdown from remote"]]);
  });

  it("add_consumer / cancel_consumer take a queue name and never a declaration; pool_restart is not enabled", async () => {
    const w = fakeWorker();
    // What Celery's app.control.add_consumer("legacy") sends: exchange_type defaults to 'direct'.
    const celeryDefaults = { exchange: null, exchange_type: "direct", routing_key: null };
    expect(await w.run("add_consumer", { queue: "legacy", ...celeryDefaults })).toEqual({
      ok: "add consumer legacy",
    });
    expect(await w.run("cancel_consumer", { queue: "legacy" })).toEqual({
      ok: "no longer consuming from legacy",
    });
    expect(await w.run("add_consumer", { queue: "", ...celeryDefaults })).toEqual({
      error: 'add_consumer: queue is required (the name of a queue), got ""',
    });
    expect(await w.run("cancel_consumer", {})).toEqual({
      error: "cancel_consumer: queue is required (the name of a queue), got undefined",
    });
    expect(await w.run("add_consumer", { queue: "legacy", exchange: "legacy", routing_key: "x" })).toEqual({
      error: expect.stringMatching(
        /^add_consumer: a worker-toolbox worker never declares queues, exchanges or bindings/,
      ),
    });
    expect(w.calls).toEqual([
      ["add", "legacy"],
      ["cancel", "legacy"],
    ]);
    expect(w.run("pool_restart", { modules: null, reload: false })).toEqual({
      error: "Pool restarts not enabled",
    });
  });
});
