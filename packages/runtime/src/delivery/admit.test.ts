import { defineTask } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type NewTaskMessageInit, newTaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";
import { H } from "../protocol/envelope.js";
import { implementTask } from "../worker/implementTask.js";
import { type AdmitContext, type ArrivedMessage, admit, ETA_TOLERANCE_MS, notRunnable } from "./admit.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const add = implementTask(
  defineTask({
    name: "svc.add",
    args: z.tuple([z.number(), z.number()]),
    kwargs: z.strictObject({ scale: z.number().default(1) }),
    result: z.number(),
  }),
  ({ args: [a, b], kwargs }) => (a + b) * kwargs.scale,
);

const ctx: AdmitContext = {
  service: "svc",
  queue: "prod.svc",
  delayQueuePrefix: "prod.delay.",
  maxMessageBytes: 1_000,
  implementation: (name) => (name === "svc.add" ? add : undefined),
  revoked: (id) => (id === "revoked-id" ? "not wanted" : undefined),
};

function arrived(init: Partial<NewTaskMessageInit>, headers: Record<string, unknown> = {}): ArrivedMessage {
  const msg = newTaskMessage({ task: "svc.add", args: [2, 3], id: "id-1", now: new Date(NOW), ...init });
  const { content, properties } = encodeTaskMessage(msg, { now: new Date(NOW) });
  return { content, properties: { ...properties, headers: { ...properties.headers, ...headers } } };
}

const raw = (content: string, headers: Record<string, unknown>): ArrivedMessage => ({
  content: Buffer.from(content),
  properties: { contentType: "application/json", headers },
});

/** Every verdict admit gives, with the message that earns it. */
const cases: { name: string; message: ArrivedMessage; expected: Record<string, unknown> }[] = [
  {
    name: "a copy that came through another delay rung than its own is dropped",
    message: arrived({}, { [H.delay]: "200ms", [H.death]: [{ queue: "prod.delay.5s", reason: "expired" }] }),
    expected: { kind: "done", tally: "dropped", note: expect.stringContaining("prod.delay.5s") },
  },
  {
    name: "a message over limits.maxMessageBytes is dead-lettered too-large, its row without the body",
    message: arrived({ args: ["x".repeat(1_000), 3] }),
    expected: {
      kind: "dead-letter",
      reason: "too-large",
      attempts: 0,
      row: {
        taskId: "id-1",
        name: "svc.add",
        queue: "prod.svc",
        state: "FAILURE",
        error: expect.any(Object),
      },
    },
  },
  {
    name: "too large and without a task id: no row at all",
    message: raw(`[["${"x".repeat(1_000)}"], {}, null]`, { task: "svc.add" }),
    expected: { kind: "dead-letter", reason: "too-large", noRow: true },
  },
  {
    name: "not JSON, with a task id: dead-lettered malformed with a FAILURE row",
    message: raw("{not json", { task: "svc.add", id: "id-9" }),
    expected: {
      kind: "dead-letter",
      reason: "malformed",
      row: { taskId: "id-9", queue: "prod.svc", state: "FAILURE" },
    },
  },
  {
    name: "not a task message at all: malformed, no row",
    message: raw("[[], {}, null]", {}),
    expected: { kind: "dead-letter", reason: "malformed", noRow: true },
  },
  {
    name: "a task this service has no handler for: unknown-task",
    message: arrived({ task: "svc.nope" }),
    expected: { kind: "dead-letter", reason: "unknown-task", row: { taskId: "id-1", name: "svc.nope" } },
  },
  {
    name: "another service's task (a stray binding routed a copy here): misrouted, and no row",
    message: arrived({ task: "billing.charge" }),
    expected: {
      kind: "dead-letter",
      reason: "misrouted",
      task: { task: "billing.charge" },
      error: expect.objectContaining({ message: expect.stringContaining("belongs to service billing") }),
      noRow: true,
    },
  },
  {
    name: "a name outside the naming rule has no owner to defer to: unknown-task with a row",
    message: arrived({ task: "nodots" }),
    expected: { kind: "dead-letter", reason: "unknown-task", row: { taskId: "id-1", name: "nodots" } },
  },
  {
    name: "a revoked task: a REVOKED row with the revocation's reason",
    message: arrived({ id: "revoked-id" }),
    expected: {
      kind: "done",
      tally: "revoked",
      row: { taskId: "revoked-id", state: "REVOKED", reason: "not wanted" },
    },
  },
  {
    name: "an expired task: a REVOKED row saying when it expired",
    message: arrived({ expires: new Date(NOW - 1) }),
    expected: {
      kind: "done",
      tally: "revoked",
      row: { state: "REVOKED", reason: expect.stringContaining("expired at") },
    },
  },
  {
    name: "an eta in the future: parked in a delay rung for the time left",
    message: arrived({ countdownMs: 5_000 }),
    expected: { kind: "delay", delayMs: 5_000 },
  },
  {
    name: "an eta within the tolerance runs now",
    message: arrived({ countdownMs: ETA_TOLERANCE_MS }),
    expected: { kind: "run" },
  },
  {
    name: "arguments that break the contract: invalid-arguments, naming the path",
    message: arrived({ args: ["two", 3] }),
    expected: {
      kind: "dead-letter",
      reason: "invalid-arguments",
      error: expect.objectContaining({ message: expect.stringContaining("args[0]") }),
      row: { taskId: "id-1", args: ["two", 3], state: "FAILURE" },
    },
  },
  {
    name: "a good call runs, with the contract's parsed input (defaults applied)",
    message: arrived({}),
    expected: {
      kind: "run",
      impl: add,
      input: { args: [2, 3], kwargs: { scale: 1 } },
      ref: { taskId: "id-1", queue: "prod.svc" },
    },
  },
  {
    name: "a copy that came through its own rung runs",
    message: arrived(
      {},
      { [H.delay]: "200ms", [H.death]: [{ queue: "prod.delay.200ms", reason: "expired" }] },
    ),
    expected: { kind: "run" },
  },
];

describe("admit", () => {
  it.each(cases)("$name", ({ message, expected: { noRow, ...expected } }) => {
    const admission = admit(message, ctx, NOW);
    expect(admission).toMatchObject(expected);
    if (noRow) expect(admission).not.toHaveProperty("row");
  });

  it("covers every kind of verdict admit can give", () => {
    const kinds = new Set(
      cases.map(({ message }) => {
        const admission = admit(message, ctx, NOW);
        return admission.kind === "done"
          ? `done:${admission.tally}`
          : admission.kind === "dead-letter"
            ? `dead-letter:${admission.reason}`
            : admission.kind;
      }),
    );
    expect([...kinds].sort()).toEqual([
      "dead-letter:invalid-arguments",
      "dead-letter:malformed",
      "dead-letter:misrouted",
      "dead-letter:too-large",
      "dead-letter:unknown-task",
      "delay",
      "done:dropped",
      "done:revoked",
      "run",
    ]);
  });

  it("is checked again after waiting for a slot: revoked or expired meanwhile", () => {
    const admission = admit(arrived({ expires: new Date(NOW + 1_000) }), ctx, NOW);
    if (admission.kind !== "run") throw new Error("expected a run");
    expect(notRunnable(admission.task, admission.ref, ctx, NOW)).toBeUndefined();
    expect(notRunnable(admission.task, admission.ref, ctx, NOW + 1_000)).toMatchObject({ tally: "revoked" });
  });
});
