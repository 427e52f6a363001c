import type { ConsumeMessage } from "amqplib";
import { describe, expect, it } from "vitest";
import { AckTracker } from "../consumer/acks.js";
import { HeldTasks } from "../control/heldTasks.js";
import { Delivery } from "../delivery/delivery.js";
import { fakeChannel } from "../delivery/fakes.testUtil.js";
import { deadLetter, retry, revoked, SHUTDOWN, succeeded, type Verdict } from "../delivery/verdict.js";
import { newTaskMessage } from "../protocol/celeryMessage.js";
import { taskRef } from "../results/messageRows.js";
import { taskEventObserver } from "./taskEvents.js";

const task = newTaskMessage({ task: "svc.add", args: [2, 3], kwargs: { x: "y" }, id: "id-1" });
const ref = taskRef(task, "prod.svc");

function delivery(headers: Record<string, unknown> = {}): Delivery {
  const { asChannel } = fakeChannel();
  const message = {
    content: Buffer.from("[]"),
    fields: { deliveryTag: 1, exchange: "prod.tasks", routingKey: "svc.add", redelivered: false },
    properties: { headers, priority: 0 },
  } as unknown as ConsumeMessage;
  return new Delivery(message, new AckTracker(asChannel, new AbortController().signal));
}

/** An observer wired to a held-task registry, recording the events it emits. */
function observe(now: { t: number }) {
  const events: { type: string; uuid: string; fields: Record<string, unknown> }[] = [];
  const held = new HeldTasks(() => now.t);
  const observer = taskEventObserver(
    { task: (type, uuid, fields) => events.push({ type, uuid, fields }) },
    (d) => held.get(d),
    () => now.t,
  );
  const run = (verdict: Verdict, d = delivery(), started = true) => {
    held.received(task, d);
    observer.received?.(task, d);
    if (started) {
      held.started(task, d);
      observer.started?.(task, d);
    }
    now.t += 250;
    observer.settled?.(verdict, d);
    held.settled(verdict, d);
  };
  return { events, held, observer, run };
}

describe("task events from the pipeline's stages", () => {
  it("received, started, succeeded: Celery's fields, the sender's reprs, runtime in seconds", () => {
    const { events, run } = observe({ t: 1_000 });
    run(succeeded(task, ref, 5), delivery({ argsrepr: "[2, 3]", kwargsrepr: "{'x': 'y'}" }));
    expect(events.map((event) => event.type)).toEqual(["task-received", "task-started", "task-succeeded"]);
    expect(events[0]!.fields).toEqual({
      name: "svc.add",
      args: "[2, 3]",
      kwargs: "{'x': 'y'}",
      root_id: "id-1",
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
    });
    expect(events[2]!.fields).toEqual({ result: "5", runtime: 0.25 });
  });

  it("without repr headers, the args are rendered as Celery would", () => {
    const { events, run } = observe({ t: 0 });
    run(succeeded(task, ref, "ok"));
    expect(events[0]!.fields).toMatchObject({ args: "(2, 3)", kwargs: "{'x': 'y'}" });
    expect(events[2]!.fields).toMatchObject({ result: "'ok'" });
  });

  it("retried and failed carry Python's repr of the error and its stack", () => {
    const { events, run } = observe({ t: 0 });
    run(retry(task, ref, new Error("flaky"), 100, 0));
    const boom = Object.assign(new TypeError("bad x"), { stack: "TypeError: bad x\n    at here" });
    run(deadLetter("retries-exhausted", boom, 3, ref, task));
    expect(events.filter((event) => event.type.startsWith("task-r")).map((e) => e.type)).toEqual([
      "task-received",
      "task-retried",
      "task-received",
    ]);
    expect(events.find((event) => event.type === "task-retried")!.fields.exception).toBe("Error('flaky')");
    expect(events.at(-1)).toEqual({
      type: "task-failed",
      uuid: "id-1",
      fields: { exception: "TypeError('bad x')", traceback: "TypeError: bad x\n    at here" },
    });
  });

  it("revoked: terminated with its signal when revoke(terminate) aborted it; expired; on arrival without task-received", () => {
    const { events, held, observer, run } = observe({ t: 0 });
    const d = delivery();
    held.received(task, d);
    held.started(task, d);
    expect(held.markTerminated("id-1", 9)).toBe(true);
    expect(held.markTerminated("other", 9)).toBe(false);
    observer.settled?.(revoked(task, ref, "terminated (SIGKILL)"), d);
    run({ ...revoked(task, ref, "expired at 2026-01-01T00:00:00.000Z") }, delivery(), false);
    // Revoked before it reached the worker: admit settles it without received.
    observer.settled?.(revoked(task, ref, "revoked"), delivery());
    const revocations = events.filter((event) => event.type === "task-revoked").map((event) => event.fields);
    expect(revocations).toEqual([
      { terminated: true, signum: 9, expired: false },
      { terminated: false, signum: null, expired: true },
      { terminated: false, signum: null, expired: false },
    ]);
  });

  it("nothing for a delivery given back at shutdown, a parked eta or one it never announced", () => {
    const { events, held, observer, run } = observe({ t: 0 });
    run(SHUTDOWN);
    run({ kind: "delay", task, delayMs: 1_000 }, delivery(), false);
    observer.settled?.(deadLetter("unknown-task", new Error("no such task"), 0, ref, task), delivery());
    expect(events.map((event) => event.type)).toEqual(["task-received", "task-started", "task-received"]);
    expect(held.list()).toEqual([]);
  });
});
