import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { PublishRequest } from "../broker/confirmPublisher.js";
import { deadLetter, succeeded } from "../delivery/verdict.js";
import { newTaskMessage, type TaskMessage } from "../protocol/celeryMessage.js";
import { decodeTaskMessage } from "../protocol/decodeTaskMessage.js";
import type { TaskOutcome } from "../results/resultTypes.js";
import { PermanentError, TimeLimitExceeded } from "../worker/errors.js";
import { CHORD_UNLOCK } from "./applySignature.js";
import type { CelerySignatureDict } from "./celerySignature.js";
import type { HeaderResult } from "./chordUnlock.js";
import { idsFrom, workerFollowUps } from "./workerFollowUps.js";

const sig = (task: string, args: unknown[], options: Record<string, unknown> = {}) =>
  ({ task, args, kwargs: {}, options, subtask_type: null, immutable: false }) as CelerySignatureDict;

function planner(maxBytes = 1_000_000) {
  const rows: TaskOutcome[] = [];
  const followUps = workerFollowUps({
    target: () => ({ exchange: "t.tasks", maxBytes }),
    rows: {
      add: async (row) => {
        rows.push(row);
        return { written: [row.taskId], unchanged: [], stored: () => true };
      },
    },
    logger: pino({ level: "silent" }),
  });
  return { rows, followUps };
}

const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const running = (
  embed: Partial<TaskMessage["embed"]>,
  more: Partial<Parameters<typeof newTaskMessage>[0]> = {},
) =>
  newTaskMessage({
    task: "svc.a",
    id: "11111111-1111-4111-8111-111111111111",
    parent: { id: "P", rootId: "R" },
    embed,
    extraHeaders: { traceparent },
    ...more,
  });
const ref = (task: TaskMessage) => ({ taskId: task.id, queue: "t.svc" });
const decoded = (request: PublishRequest) => decodeTaskMessage(request.content, request.properties as never);
const plan = (
  p: ReturnType<typeof planner>,
  verdict: Parameters<ReturnType<typeof workerFollowUps>["plan"]>[0],
) => Promise.resolve(p.followUps.plan(verdict, undefined as never));

describe("the worker's canvas follow-ups", () => {
  it("success: the next chain step with the result, in the task's trace, parent and root set", async () => {
    const p = planner();
    const task = running({
      chain: [sig("svc.c", [], { task_id: "C" }), sig("svc.b", [2], { task_id: "B" })],
    });
    const [request, ...rest] = await plan(p, succeeded(task, ref(task), 10));
    expect(rest).toEqual([]);
    expect(request!.routingKey).toBe("svc.b");
    const next = decoded(request!);
    expect(next).toMatchObject({ id: "B", args: [10, 2], parentId: task.id, rootId: "R" });
    expect(next.embed.chain).toHaveLength(1);
    // Same trace id, a new span.
    expect(String(next.extraHeaders.traceparent).split("-")[1]).toBe(traceparent.split("-")[1]);
    expect(next.extraHeaders.traceparent).not.toBe(traceparent);
  });

  it("a redelivery plans the same ids (a duplicate follow-up is harmless by task id)", async () => {
    const task = running({ callbacks: [sig("svc.x", []), sig("svc.y", [])] });
    const ids = async () => (await plan(planner(), succeeded(task, ref(task), 1))).map((r) => decoded(r).id);
    const first = await ids();
    expect(first).toHaveLength(2);
    expect(await ids()).toEqual(first);
    const next = idsFrom(task);
    expect(next()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("failure: FAILURE rows for the later chain steps and the errbacks with the failed task's id", async () => {
    const p = planner();
    const task = running({
      chain: [sig("svc.c", [], { task_id: "C" }), sig("svc.b", [], { task_id: "B" })],
      errbacks: [sig("svc.onError", [], { task_id: "E" })],
    });
    const requests = await plan(
      p,
      deadLetter("permanent-error", new PermanentError("no"), 1, ref(task), task),
    );
    expect(p.rows.map((row) => [row.taskId, row.state])).toEqual([
      ["C", "FAILURE"],
      ["B", "FAILURE"],
    ]);
    expect(p.rows[0]).toMatchObject({ error: { type: "PermanentError", message: "no" } });
    expect(requests.map((r) => decoded(r)).map((m) => [m.task, m.id, m.args])).toEqual([
      ["svc.onError", "E", [task.id]],
    ]);
  });

  it("a hard time limit fails like Celery: errbacks run; a task that never ran (unknown) sends nothing", async () => {
    const task = running({ errbacks: [sig("svc.onError", [])] });
    const limit = new TimeLimitExceeded("svc.a", 300);
    expect(await plan(planner(), deadLetter("time-limit", limit, 1, ref(task), task))).toHaveLength(1);
    expect(await plan(planner(), deadLetter("unknown-task", limit, 0, ref(task), task))).toEqual([]);
  });

  it("a follow-up too large to send is stored as FAILURE instead of blocking the ack", async () => {
    const p = planner(2_000);
    const task = running({ callbacks: [sig("svc.b", [], { task_id: "B" })] });
    expect(await plan(p, succeeded(task, ref(task), "x".repeat(5_000)))).toEqual([]);
    expect(p.rows).toMatchObject([{ taskId: "B", state: "FAILURE", error: { type: "ToolboxError" } }]);
  });

  it("celery.chord_unlock: the body with the header's values; a failed member fails the body with ChordError", async () => {
    const body = sig("svc.total", [], {
      task_id: "BODY",
      link_error: [sig("svc.onError", [], { task_id: "E" })],
    });
    const unlock = running(
      {},
      {
        task: CHORD_UNLOCK,
        args: ["G", body],
        kwargs: {
          interval: 1,
          result: [
            [["h1", null], null],
            [["h2", null], null],
          ],
        },
        ignoreResult: true,
      },
    );
    const ok: HeaderResult = { status: "SUCCESS", value: 2, error: null };
    const done = (second: HeaderResult) =>
      succeeded(unlock, ref(unlock), [
        ["h1", ok],
        ["h2", second],
      ]);

    const p = planner();
    const [request] = await plan(p, done({ status: "SUCCESS", value: 4, error: null }));
    expect(decoded(request!)).toMatchObject({
      task: "svc.total",
      id: "BODY",
      args: [[2, 4]],
      parentId: unlock.id,
    });

    const failing = planner();
    const failed: HeaderResult = {
      status: "FAILURE",
      value: null,
      error: { type: "ValueError", message: "x" },
    };
    const errbacks = await plan(failing, done(failed));
    expect(failing.rows).toMatchObject([
      {
        taskId: "BODY",
        state: "FAILURE",
        error: { type: "ChordError", message: "Dependency h2 raised ValueError('x')" },
      },
    ]);
    expect(errbacks.map((r) => decoded(r)).map((m) => [m.id, m.args])).toEqual([["E", ["BODY"]]]);
  });
});
