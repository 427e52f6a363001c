import { randomUUID } from "node:crypto";
import { defineTask, entityNames } from "@worker-toolbox/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { encodeTaskMessage, newTaskMessage } from "../../packages/runtime/src/protocol/index.js";
import {
  createWorker,
  implementTask,
  type Worker,
  type WorkerState,
} from "../../packages/runtime/src/worker/index.js";
import {
  add,
  alwaysFails,
  badResult,
  echo,
  executions,
  flaky,
  implementations,
  permanent,
  progress,
  SERVICE,
  sleep,
  spawn,
  wrapUp,
} from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "./harness.js";

let h: Harness;
let worker: Worker;
const states: WorkerState[] = [];

beforeAll(async () => {
  h = await createHarness("worker", testServers());
  worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
  worker.on("state", (state) => states.push(state));
  await worker.start();
});

afterAll(async () => {
  await worker?.close({ graceMs: 1_000 });
  await h?.close();
});

const encodedRaw = (init: Parameters<typeof newTaskMessage>[0]) => {
  const msg = newTaskMessage(init);
  const { content, properties } = encodeTaskMessage(msg);
  return { msg, content, properties };
};

describe("worker", () => {
  it("runs a task and stores its SUCCESS row; readiness means the consumer is active", async () => {
    expect(worker.ready()).toBe(true);
    expect(states).toEqual(["ready"]);
    const { id } = await h.producer.send(add, [2, 3]);
    const row = await h.waitForStatus(id, "SUCCESS");
    expect(row).toMatchObject({ result_json: 5, retries: 0, root_id: id, parent_id: null });
  });

  it("retries a RetryableError with backoff through the delay rungs, then succeeds", async () => {
    const started = Date.now();
    const { id } = await h.producer.send(flaky, [], { failures: 2 });
    const row = await h.waitForStatus(id, "SUCCESS");
    // Attempt 3 succeeded after retries delayed 200 ms and 400 ms (backoff base 200, no jitter).
    expect(row).toMatchObject({ result_json: 3, retries: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it("sends a retry through exactly one delay rung (the platform queue sees each attempt once)", async () => {
    const { id } = await h.producer.send(flaky, [], { failures: 1 });
    await h.waitForStatus(id, "SUCCESS");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const platform = entityNames(h.prefix).platformQueue;
    const copies: number[] = [];
    for (;;) {
      const message = await (await h.channel()).get(platform, { noAck: true });
      if (!message) break;
      if (message.properties.headers?.id === id) copies.push(Number(message.properties.headers.retries));
    }
    // The original and one retry (its 200 ms delay is exactly a rung, so it is not sent round again).
    expect(copies.sort()).toEqual([0, 1]);
  });

  it("a retry keeps the producer's tracking metadata and trace context (the platform copy of each attempt has them)", async () => {
    const tracking = { requestedBy: "user:42" };
    const { id } = await h.producer.send(flaky, [], { failures: 1 }, { tracking });
    await h.waitForStatus(id, "SUCCESS");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const platform = entityNames(h.prefix).platformQueue;
    const copies: Record<string, unknown>[] = [];
    for (;;) {
      const message = await (await h.channel()).get(platform, { noAck: true });
      if (!message) break;
      if (message.properties.headers?.id === id) copies.push(message.properties.headers);
    }
    expect(copies.map((headers) => headers.retries).sort()).toEqual([0, 1]);
    for (const headers of copies) {
      expect(headers["x-wt-tracking"]).toEqual(tracking);
      expect(headers.traceparent).toBe(copies[0]!.traceparent);
    }
  });

  it("dead-letters a task whose retries are exhausted, with the reason in headers and a FAILURE row", async () => {
    const { id } = await h.producer.send(alwaysFails, []);
    const row = await h.waitForStatus(id, "FAILURE");
    expect(row.error).toMatchObject({ type: "TypeError", message: "this task always fails" });
    expect(row.retries).toBe(2);
    const letters = await pollDeadLetters(1);
    const headers = letters[0]!.properties.headers!;
    expect(headers).toMatchObject({
      id,
      task: "wtest.alwaysFails",
      retries: 2,
      "x-wt-reason": "retries-exhausted",
      "x-wt-error-class": "TypeError",
      "x-wt-error-message": "this task always fails",
      "x-wt-attempts": 3,
      "x-wt-original-routing-key": "wtest.alwaysFails",
    });
    expect(String(headers["x-wt-error-stack"])).toContain("TypeError: this task always fails");
    expect(Date.parse(String(headers["x-wt-dead-lettered-at"]))).toBeGreaterThan(Date.now() - 60_000);
  });

  it("dead-letters a PermanentError at once and a result that breaks the contract", async () => {
    const first = await h.producer.send(permanent, []);
    const second = await h.producer.send(badResult, []);
    await h.waitForStatus(first.id, "FAILURE");
    const bad = await h.waitForStatus(second.id, "FAILURE");
    expect(bad.error?.type).toBe("ContractViolation");
    const letters = await pollDeadLetters(2);
    const byId = Object.fromEntries(letters.map((l) => [l.properties.headers!.id, l.properties.headers!]));
    expect(byId[first.id]).toMatchObject({
      "x-wt-reason": "permanent-error",
      "x-wt-attempts": 1,
      "x-wt-error-class": "PermanentError",
    });
    expect(byId[second.id]).toMatchObject({
      "x-wt-reason": "invalid-result",
      "x-wt-error-class": "ContractViolation",
    });
  });

  it("dead-letters poison messages once each while the good ones complete", async () => {
    const good = await Promise.all(Array.from({ length: 30 }, (_, i) => h.producer.send(echo, [i])));
    const malformedId = randomUUID();
    await h.publishRaw("wtest.echo", Buffer.from("{not json"), {
      contentType: "application/json",
      headers: { task: "wtest.echo", id: malformedId },
    });
    const unknown = encodedRaw({ task: "wtest.nope" });
    await h.publishRaw("wtest.nope", unknown.content, unknown.properties);
    const badArgs = encodedRaw({ task: "wtest.echo", args: ["not a number"] });
    await h.publishRaw("wtest.echo", badArgs.content, badArgs.properties);
    const more = await Promise.all(Array.from({ length: 30 }, (_, i) => h.producer.send(echo, [100 + i])));
    for (const { id } of [...good, ...more]) await h.waitForStatus(id, "SUCCESS");

    const letters = await pollDeadLetters(3);
    const reasons = Object.fromEntries(letters.map((l) => [l.properties.headers!["x-wt-reason"], l]));
    expect(Object.keys(reasons).sort()).toEqual(["invalid-arguments", "malformed", "unknown-task"]);
    expect(reasons.malformed!.content.toString()).toBe("{not json");
    expect(reasons["unknown-task"]!.properties.headers!["x-wt-error-message"]).toContain(
      "no handler for task wtest.nope",
    );
    expect(reasons["invalid-arguments"]!.properties.headers!["x-wt-error-message"]).toContain("args[0]");
    for (const id of [malformedId, unknown.msg.id, badArgs.msg.id]) {
      expect((await h.row(id))?.status).toBe("FAILURE");
    }
    // No redelivery loop: nothing more arrives, and the service queue is empty.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await h.takeDeadLetters()).toEqual([]);
    const queue = await (await h.channel()).checkQueue(entityNames(h.prefix).serviceQueue(SERVICE));
    expect(queue.messageCount).toBe(0);
  });

  it("dead-letters a message over limits.maxMessageBytes unrun, with no row holding its body", async () => {
    const key = `big-${randomUUID()}-${"x".repeat(h.config.limits.maxMessageBytes)}`;
    const raw = encodedRaw({ task: "wtest.idempotent", args: [key] });
    expect(raw.content.length).toBeGreaterThan(h.config.limits.maxMessageBytes);
    await h.publishRaw("wtest.idempotent", raw.content, raw.properties);
    const [letter] = await pollDeadLetters(1);
    expect(letter!.properties.headers).toMatchObject({
      id: raw.msg.id,
      "x-wt-reason": "too-large",
      "x-wt-attempts": 0,
      "x-wt-error-class": "ToolboxError",
    });
    expect(letter!.content.equals(raw.content)).toBe(true);
    expect(executions.get(key)).toBeUndefined();
    // Settle publishes the dead letter and stores the row side by side: the letter may be seen first.
    await h.waitForStatus(raw.msg.id, "FAILURE");
    const { rows } = await h.pool.query(
      "SELECT status, name, args, kwargs, octet_length(result) < 1000 AS small FROM celery_taskmeta WHERE task_id = $1",
      [raw.msg.id],
    );
    expect(rows).toEqual([
      { status: "FAILURE", name: "wtest.idempotent", args: null, kwargs: null, small: true },
    ]);
  });

  it("records an expired task as REVOKED without running it", async () => {
    const raw = encodedRaw({
      task: "wtest.idempotent",
      args: ["expired"],
      expires: new Date(Date.now() - 1_000),
    });
    // Without the per-message TTL (which would let the broker drop it), so the worker sees it.
    const { expiration: _ttl, ...properties } = raw.properties;
    await h.publishRaw("wtest.idempotent", raw.content, properties);
    const row = await h.waitForStatus(raw.msg.id, "REVOKED");
    expect(row.error?.message).toContain("expired");
    expect(executions.get("expired")).toBeUndefined();
  });

  it("holds a task with a future eta in the broker's delay rungs, then runs it", async () => {
    const before = worker.stats.delayed;
    const sent = Date.now();
    const { id } = await h.producer.send(add, [1, 1], {}, { countdownMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await h.row(id)).toBeUndefined();
    expect(worker.stats.running).toBe(0);
    await h.waitForStatus(id, "SUCCESS");
    expect(Date.now() - sent).toBeGreaterThanOrEqual(950);
    expect(worker.stats.delayed).toBeGreaterThan(before);
  });

  it("skips an idempotent task that already succeeded (duplicate delivery)", async () => {
    const key = `idem-${randomUUID()}`;
    const raw = encodedRaw({ task: "wtest.idempotent", args: [key] });
    await h.publishRaw("wtest.idempotent", raw.content, raw.properties);
    await h.waitForStatus(raw.msg.id, "SUCCESS");
    const skipped = worker.stats.skipped;
    await h.publishRaw("wtest.idempotent", raw.content, raw.properties);
    await expect.poll(() => worker.stats.skipped, { timeout: 10_000 }).toBe(skipped + 1);
    expect(executions.get(key)).toBe(1);
  });

  it("records PROGRESS meta and keeps it on the final row", async () => {
    const { id } = await h.producer.send(progress, []);
    const row = await h.waitForStatus(id, "SUCCESS");
    expect(row.meta).toEqual({ done: 1, total: 2, note: "half way" });
  });

  it("ctx.send sends follow-up tasks that inherit the root and name their parent", async () => {
    const { id } = await h.producer.send(spawn, []);
    const row = await h.waitForStatus(id, "SUCCESS");
    const childId = row.result_json as string;
    const child = await h.waitForStatus(childId, "SUCCESS");
    expect(child).toMatchObject({ result_json: 42, parent_id: id, root_id: id });
  });

  it("revokes a task before it starts (skipped) and while it runs (aborted)", async () => {
    const waitingId = randomUUID();
    await worker.revoke(waitingId, { reason: "not wanted" });
    await h.producer.send(sleep, [10], {}, { id: waitingId });
    const skipped = await h.waitForStatus(waitingId, "REVOKED");
    expect(skipped.error?.message).toContain("not wanted");

    const { id } = await h.producer.send(sleep, [60_000]);
    await expect.poll(() => worker.stats.running, { timeout: 10_000 }).toBe(1);
    const started = Date.now();
    await worker.revoke(id);
    await h.waitForStatus(id, "REVOKED");
    await expect.poll(() => worker.stats.running).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    const queue = await (await h.channel()).checkQueue(entityNames(h.prefix).serviceQueue(SERVICE));
    expect(queue.messageCount).toBe(0);
  });

  it("aborts a task at its hard time limit and fails it with TimeLimitExceeded at once, never retried (as Celery)", async () => {
    // Celery's `timelimit` header is [hard, soft] in seconds; the sleep handler would run for a minute.
    const { msg, content, properties } = encodedRaw({
      task: sleep.name,
      args: [60_000],
      timeLimit: { hard: 0.3 },
    });
    await h.publishRaw(msg.task, content, properties);
    const failed = await h.waitForStatus(msg.id, "FAILURE", 30_000);
    expect(failed.error?.type).toBe("TimeLimitExceeded");
    expect(failed.retries).toBe(0);
    // The dead letter is published beside the row (settle), so it can be confirmed a moment after the row.
    const letters = (await pollDeadLetters(1)).filter((letter) => letter.properties.headers?.id === msg.id);
    await expect.poll(() => worker.stats.running).toBe(0);
    expect(letters.map((letter) => letter.properties.headers?.["x-wt-reason"])).toEqual(["time-limit"]);
    expect(letters[0]!.properties.headers?.["x-wt-attempts"]).toBe(1);
  });

  it("soft time limit: the handler's signal fires with SoftTimeLimitExceeded and the worker waits for its answer", async () => {
    // wtest.wrapUp's contract sets a 300 ms soft limit and no hard one; it catches the soft limit and returns.
    const started = Date.now();
    const { id } = await h.producer.send(wrapUp, [60_000]);
    const row = await h.waitForStatus(id, "SUCCESS", 30_000);
    expect(row.result_json).toBe("wrapped up: Task wtest.wrapUp exceeded its soft time limit of 300 ms.");
    expect(Date.now() - started).toBeLessThan(10_000);

    // A handler that lets it propagate fails with it (here through the message's Celery [hard, soft] header).
    const { msg, content, properties } = encodedRaw({
      task: sleep.name,
      args: [60_000],
      timeLimit: { hard: 30, soft: 0.3 },
    });
    await h.publishRaw(msg.task, content, properties);
    const failed = await h.waitForStatus(msg.id, "FAILURE", 30_000);
    expect(failed.error?.type).toBe("SoftTimeLimitExceeded");
    await expect.poll(() => worker.stats.running).toBe(0);
  });

  it("resubscribes after the broker cancels its consumer (queue deleted), re-declaring the queue", async () => {
    const queue = entityNames(h.prefix).serviceQueue(SERVICE);
    const channel = await h.channel();
    await channel.deleteQueue(queue);
    await expect.poll(() => states.includes("recovering"), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => worker.state, { timeout: 20_000 }).toBe("ready");
    expect((await channel.checkQueue(queue)).consumerCount).toBe(1);
    const { id } = await h.producer.send(add, [1, 2]);
    expect((await h.waitForStatus(id, "SUCCESS")).result_json).toBe(3);
  });

  it("refuses a config without service and tasks of another service", () => {
    const other = defineTask({ name: "elsewhere.task", result: z.null() });
    expect(() =>
      createWorker({ config: { ...h.config, service: undefined }, tasks: implementations }),
    ).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
    expect(() => createWorker({ config: h.config, tasks: [implementTask(other, () => null)] })).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        message: expect.stringContaining("belongs to service elsewhere"),
      }),
    );
  });
});

async function pollDeadLetters(count: number, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  const taken = [];
  while (taken.length < count && Date.now() < until) {
    taken.push(...(await h.takeDeadLetters()));
    if (taken.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(taken).toHaveLength(count);
  return taken;
}
