import { defineTask, type RetryPolicy } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { newTaskMessage } from "../protocol/celeryMessage.js";
import { taskRef } from "../results/messageRows.js";
import { PermanentError, RetryableError, TimeLimitExceeded } from "../worker/errors.js";
import { implementTask } from "../worker/implementTask.js";
import { type Execution, judge } from "./judge.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const impl = implementTask(
  defineTask({ name: "svc.count", args: z.tuple([z.number()]), result: z.number().int() }),
  ({ args: [n] }) => n,
);
const policy: RetryPolicy = { maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 60_000, jitter: "none" };

function run(
  execution: Execution,
  options: { retries?: number; ignoreResult?: boolean; revokedReason?: string } = {},
) {
  const task = {
    ...newTaskMessage({ task: "svc.count", args: [1], id: "id-1", ignoreResult: options.ignoreResult }),
    retries: options.retries ?? 0,
  };
  return judge(
    { task, ref: taskRef(task, "prod.svc"), impl, execution, revokedReason: options.revokedReason, policy },
    NOW,
  );
}

const boom = new TypeError("boom");

/** Every verdict judge gives, with the run that earns it. */
const cases: { name: string; verdict: ReturnType<typeof run>; expected: Record<string, unknown> }[] = [
  {
    name: "a value the contract accepts: SUCCESS row with it",
    verdict: run({ ok: true, value: 7 }),
    expected: {
      kind: "done",
      tally: "succeeded",
      value: 7,
      row: { taskId: "id-1", state: "SUCCESS", result: 7, retries: 0 },
    },
  },
  {
    name: "ignore_result: succeeded without a row",
    verdict: run({ ok: true, value: 7 }, { ignoreResult: true }),
    expected: { kind: "done", tally: "succeeded", value: 7, noRow: true },
  },
  {
    name: "a value the contract refuses: invalid-result, counted as an attempt",
    verdict: run({ ok: true, value: 1.5 }, { retries: 1 }),
    expected: {
      kind: "dead-letter",
      reason: "invalid-result",
      attempts: 2,
      row: { state: "FAILURE", error: { type: "ContractViolation" } },
    },
  },
  {
    name: "revoked while it ran: REVOKED, whatever it returned",
    verdict: run({ ok: true, value: 7 }, { revokedReason: "not wanted" }),
    expected: { kind: "done", tally: "revoked", row: { state: "REVOKED", reason: "not wanted" } },
  },
  {
    name: "PermanentError: dead-lettered at once",
    verdict: run({ ok: false, error: new PermanentError("never") }),
    expected: {
      kind: "dead-letter",
      reason: "permanent-error",
      attempts: 1,
      row: { error: { type: "PermanentError" } },
    },
  },
  {
    name: "an error with attempts left: retried after the policy's backoff, with a RETRY row",
    verdict: run({ ok: false, error: boom }, { retries: 1 }),
    expected: {
      kind: "retry",
      delayMs: 2_000,
      error: boom,
      row: {
        state: "RETRY",
        retries: 1,
        error: { type: "TypeError", message: "boom" },
        eta: new Date(NOW + 2_000),
      },
    },
  },
  {
    name: "RetryableError({ delayMs }) sets the delay",
    verdict: run({ ok: false, error: new RetryableError({ delayMs: 250 }) }),
    expected: { kind: "retry", delayMs: 250 },
  },
  {
    name: "the hard time limit: FAILURE at once, never retried (as Celery)",
    verdict: run({ ok: false, error: new TimeLimitExceeded("svc.count", 300) }),
    expected: { kind: "dead-letter", reason: "time-limit", attempts: 1, row: { state: "FAILURE" } },
  },
  {
    name: "ignore_result: a retry stores no RETRY row (Celery's chord_unlock polls this way)",
    verdict: run({ ok: false, error: new RetryableError({ delayMs: 5 }) }, { ignoreResult: true }),
    expected: { kind: "retry", delayMs: 5, noRow: true },
  },
  {
    name: "an error on the last attempt: retries-exhausted",
    verdict: run({ ok: false, error: boom }, { retries: 2 }),
    expected: { kind: "dead-letter", reason: "retries-exhausted", attempts: 3, error: boom },
  },
];

describe("judge", () => {
  it.each(cases)("$name", ({ verdict, expected: { noRow, ...expected } }) => {
    expect(verdict).toMatchObject(expected);
    if (noRow) expect(verdict).not.toHaveProperty("row");
  });

  it("covers every kind of verdict judge can give", () => {
    const kinds = new Set(
      cases.map(({ verdict }) =>
        verdict.kind === "done"
          ? `done:${verdict.tally}`
          : verdict.kind === "dead-letter"
            ? `dead-letter:${verdict.reason}`
            : verdict.kind,
      ),
    );
    expect([...kinds].sort()).toEqual([
      "dead-letter:invalid-result",
      "dead-letter:permanent-error",
      "dead-letter:retries-exhausted",
      "dead-letter:time-limit",
      "done:revoked",
      "done:succeeded",
      "retry",
    ]);
  });
});
