import { AssertionError } from "node:assert";
import { defineTask, parseConfig } from "@worker-toolbox/config";
import { implementTask, PermanentError, RetryableError } from "@worker-toolbox/runtime";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { expectNothingSent, expectSent, runTask, sentCalls, testTaskContext } from "./index.js";

const notify = defineTask({
  name: "shop.notify",
  args: z.tuple([z.string()]),
  kwargs: z.strictObject({ channel: z.enum(["email", "sms"]) }),
  result: z.null(),
});

const invoice = defineTask({
  name: "shop.invoice",
  args: z.tuple([z.string().min(1)]),
  kwargs: z.strictObject({ copies: z.number().int().default(2), due: z.coerce.date().optional() }),
  result: z.object({ id: z.string(), copies: z.number() }),
  retry: { maxAttempts: 3, backoffBaseMs: 1_000, jitter: "none" },
});

const invoiceTask = implementTask(invoice, async ({ args: [id], kwargs }, ctx) => {
  if (id === "busy" && ctx.attempt < 3) throw new RetryableError("the ledger is locked");
  if (id === "gone") throw new PermanentError("no such order");
  if (id === "bad") return { id } as never;
  await ctx.progress({ done: 1, total: 2, note: "rendered" });
  ctx.logger.info({ copies: kwargs.copies }, "invoice rendered");
  await ctx.send(notify, [id], { channel: "email" });
  return { id, copies: kwargs.copies };
});

describe("runTask", () => {
  it("parses the call through the contract (defaults applied) and records sends, progress and log lines", async () => {
    const run = await runTask(invoiceTask, { args: ["o-1"] });
    expect(run).toMatchObject({ state: "SUCCESS", value: { id: "o-1", copies: 2 }, attempt: 1 });
    expect(run.progressUpdates).toEqual([{ done: 1, total: 2, note: "rendered" }]);
    expect(run.logs).toContainEqual(
      expect.objectContaining({ level: "info", msg: "invoice rendered", copies: 2, taskId: run.taskId }),
    );
    const sent = expectSent(run, notify, { args: ["o-1"], kwargs: { channel: "email" } });
    expect(sentCalls(run, notify)).toEqual([sent]);
  });

  it("refuses a call that breaks the contract before the handler runs, as the worker dead-letters it", async () => {
    const run = await runTask(invoiceTask, { args: [""] });
    expect(run).toMatchObject({ state: "FAILURE", reason: "invalid-arguments" });
    expect(run.error?.message).toContain("args[0]");
    expectNothingSent(run);
  });

  it("judges the result and the errors as the worker does", async () => {
    expect(await runTask(invoiceTask, { args: ["bad"] })).toMatchObject({
      state: "FAILURE",
      reason: "invalid-result",
    });
    expect(await runTask(invoiceTask, { args: ["gone"] })).toMatchObject({
      state: "FAILURE",
      reason: "permanent-error",
    });
    const retry = await runTask(invoiceTask, { args: ["busy"] });
    expect(retry).toMatchObject({ state: "RETRY", retryInMs: 1_000, attempt: 1 });
  });

  it("follows retries on a fake clock: the policy's backoff, no real waiting", async () => {
    const started = Date.now();
    const run = await runTask(invoiceTask, { args: ["busy"] }, { followRetries: true });
    expect(Date.now() - started).toBeLessThan(3_000); // the backoff alone would take 3 s
    expect(run.attempts.map((a) => [a.attempt, a.state, a.retryInMs])).toEqual([
      [1, "RETRY", 1_000],
      [2, "RETRY", 2_000],
      [3, "SUCCESS", undefined],
    ]);
    expect(run.waitedMs).toBe(3_000);
    expect(run.value).toEqual({ id: "busy", copies: 2 });
  });

  it("waits for an eta on the fake clock and drops an expired task as REVOKED", async () => {
    const now = new Date("2026-03-01T00:00:00Z");
    const later = await runTask(invoiceTask, { args: ["o-2"] }, { now, countdownMs: 3_600_000 });
    expect(later).toMatchObject({ state: "SUCCESS", waitedMs: 3_600_000 });
    const expired = await runTask(
      invoiceTask,
      { args: ["o-3"] },
      { now, expires: new Date(now.getTime() - 1) },
    );
    expect(expired.state).toBe("REVOKED");
  });

  it("an attempt number sets ctx.attempt; a production config is refused", async () => {
    expect((await runTask(invoiceTask, { args: ["busy"] }, { attempt: 3 })).state).toBe("SUCCESS");
    const production = parseConfig({
      mode: "production",
      environment: { prefix: "prod" },
      broker: { url: "amqps://u:p@broker:5671/" },
      database: { url: "postgres://u:p@db:5432/results?sslmode=verify-full" },
    });
    await expect(runTask(invoiceTask, { args: ["o-1"] }, { config: production })).rejects.toMatchObject({
      code: "IN_PROCESS_REFUSED",
    });
  });
});

describe("testTaskContext and the assertions", () => {
  it("records what a handler called directly did; expectSent says what was sent instead", async () => {
    const ctx = testTaskContext({ attempt: 2 });
    await invoiceTask.handler({ args: ["o-9"], kwargs: { copies: 1 } }, ctx);
    expect(ctx.sent.map((s) => [s.name, s.args])).toEqual([["shop.notify", ["o-9"]]]);
    expect(ctx.progressUpdates).toHaveLength(1);
    expect(() => expectSent(ctx, notify, { args: ["o-1"] })).toThrow(AssertionError);
    expect(() => expectSent(ctx, notify, { args: ["o-1"] })).toThrow(
      /it sent :\n {2}shop\.notify args \[ 'o-9' \]/,
    );
    expect(() => expectNothingSent(ctx)).toThrow(/sent shop\.notify/);
  });
});
