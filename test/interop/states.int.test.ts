import { defineTask } from "@worker-toolbox/config";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { getTask, waitForResult } from "../../packages/runtime/src/results/readResults.js";
import { createWorker, implementTask, type Worker } from "../../packages/runtime/src/worker/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * Result states a Celery user relies on, on a TypeScript worker (service `tsint`, one task at a time, so a
 * long task keeps its queue busy), seen from a Python Celery client and from TypeScript: STARTED
 * (task_track_started), the hard time limit (FAILURE, not retried), and expiry in a busy queue — at the
 * worker for Celery's messages (no TTL), by the broker's TTL for the TypeScript producer's, recorded from the
 * dead-letter path.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the result-state interop tests", celery.reason);

const sleep = defineTask({
  name: "tsint.sleep",
  args: z.tuple([z.number().int().min(0)]),
  argNames: ["ms"],
  result: z.number(),
});
const add = defineTask({ name: "tsint.add", args: z.tuple([z.number(), z.number()]), result: z.number() });

let world: InteropWorld;
let worker: Worker;
let producer: Producer;

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => resolve(ms), ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/** Runs `code` with `s` (app.signature) and `failure(r)`: the error type `r.get()` raises, or None. */
const PRELUDE = `import json
from interop_tasks import app
s = app.signature


def failure(r):
    try:
        r.get(timeout=30)
        return None
    except Exception as error:
        return type(error).__name__
`;

async function python(code: string) {
  const run = await world.python.run(PRELUDE + code, {}, 90_000);
  const line = run.out.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`the Python client failed:\n${run.out}`);
  return JSON.parse(line.slice(7)) as Record<string, unknown>;
}

describe.skipIf(!celery.found)("result states on a TypeScript worker, seen from Python Celery", () => {
  beforeAll(async () => {
    world = await interopWorld("states", ["interop", "tsint"]);
    const logger = pino({ level: process.env.WT_TEST_LOG ?? "silent" });
    const config = world.config({
      service: "tsint",
      worker: { concurrency: 1, prefetch: 1, trackStarted: true },
    });
    worker = createWorker({
      config,
      tasks: [
        implementTask(sleep, ({ args: [ms] }, ctx) => pause(ms, ctx.signal)),
        implementTask(add, ({ args: [a, b] }) => a + b),
      ],
      logger,
    });
    producer = createProducer({ config: world.config(), contracts: [sleep, add], logger });
    await Promise.all([worker.start(), producer.ready(20_000)]);
  });

  afterAll(async () => {
    await producer?.close();
    await worker?.close({ graceMs: 1_000 });
    await world?.close();
  });

  it("STARTED while the handler runs (AsyncResult.state), then SUCCESS; the row keeps when it started", async () => {
    const out = await python(`
import time
r = s("tsint.sleep", (1500,)).apply_async()
seen = []
deadline = time.time() + 20
while time.time() < deadline and r.state != "SUCCESS":
    if r.state not in seen:
        seen.append(r.state)
    time.sleep(0.05)
print("RESULT " + json.dumps({"id": r.id, "seen": seen, "value": r.get(timeout=20)}), flush=True)
`);
    expect(out.seen).toContain("STARTED");
    expect(out.value).toBe(1500);
    const row = (await getTask(world.pool, "public", out.id as string)).result;
    expect(row?.status).toBe("SUCCESS");
    expect(row?.startedAt).toBeInstanceOf(Date);
  });

  it("hard time limit (Python's time_limit): FAILURE with TimeLimitExceeded at once, never retried", async () => {
    const retried = worker.stats.retried;
    const out = await python(`
r = s("tsint.sleep", (60000,)).apply_async(time_limit=0.5)
print("RESULT " + json.dumps({"id": r.id, "raised": failure(r)}), flush=True)
`);
    expect(out.raised).toBe("TimeLimitExceeded");
    const row = (await getTask(world.pool, "public", out.id as string)).result;
    expect(row).toMatchObject({ status: "FAILURE", retries: 0, error: { type: "TimeLimitExceeded" } });
    expect(worker.stats.retried).toBe(retried);
  });

  it("expiry in a busy queue: REVOKED at the worker (Celery's message) and from the dead letters (TTL)", async () => {
    // The TypeScript producer's message carries a TTL: the broker drops it from the busy queue.
    const busy = await producer.send(sleep, [2_500]);
    const dropped = await producer.send(add, [1, 1], {}, { expires: 500 });
    // Celery 5.2 sets no TTL: its expired message waits for the worker, which does not run it.
    const out = await python(`
busy = s("tsint.sleep", (1500,)).apply_async()
r = s("tsint.add", (2, 2)).apply_async(expires=0.5)
print("RESULT " + json.dumps({"id": r.id, "raised": failure(r)}), flush=True)
`);
    expect(out.raised).toBe("TaskRevokedError");
    const wait = (id: string) =>
      waitForResult(world.pool, "public", id, { timeoutMs: 30_000, recheckMs: 200 });
    const ttl = await wait(dropped.id);
    expect(ttl.result).toMatchObject({ status: "REVOKED", name: "tsint.add" });
    expect(ttl.result?.error?.message).toMatch(/expired .* while queued/);
    expect((await wait(out.id as string)).result?.error?.message).toMatch(/^expired at/);
    expect((await wait(busy.id)).status).toBe("SUCCESS");
  });
});
