import { describe, expect, it } from "vitest";
import { newTaskMessage } from "../protocol/celeryMessage.js";
import type { CelerySignatureDict } from "./celerySignature.js";
import { decideChordUnlock, type HeaderResult, parseChordUnlock } from "./chordUnlock.js";
import { chainStepIds, failureFollowUps, successFollowUps } from "./followUps.js";

/** A signature dict as a Python producer writes it (celery/canvas.py). */
const sig = (
  task: string,
  args: unknown[],
  options: Record<string, unknown> = {},
  more: Partial<CelerySignatureDict> = {},
) =>
  ({ task, args, kwargs: {}, options, subtask_type: null, immutable: false, ...more }) as CelerySignatureDict;

function ids() {
  let n = 0;
  return () => `id-${++n}`;
}

const running = (embed: Partial<ReturnType<typeof newTaskMessage>["embed"]>, priority = 0) =>
  newTaskMessage({ task: "svc.a", id: "A", parent: { id: "P", rootId: "R" }, priority, embed });

const summary = (messages: ReturnType<typeof successFollowUps>) =>
  messages.map(({ init, routingKey }) => ({
    rk: routingKey,
    task: init.task,
    id: init.id,
    args: init.args,
    parent: init.parent,
    group: init.group ?? null,
    chain: init.embed?.chain ?? null,
    priority: init.priority ?? null,
  }));

describe("a worker's follow-ups (Celery's trace)", () => {
  it("success: the chain's next step gets the result and the rest of the chain", () => {
    const c = sig("svc.c", [3], { task_id: "C" }, { immutable: true });
    const b = sig("svc.b", [2], { task_id: "B" });
    expect(summary(successFollowUps(running({ chain: [c, b] }), 10, ids()))).toEqual([
      {
        rk: "svc.b",
        task: "svc.b",
        id: "B",
        args: [10, 2],
        parent: { id: "A", rootId: "R" },
        group: null,
        chain: [c],
        priority: 0,
      },
    ]);
    // The last step carries no chain; an immutable step does not take the result.
    expect(summary(successFollowUps(running({ chain: [c] }), 10, ids()))[0]).toMatchObject({
      id: "C",
      args: [3],
      chain: null,
    });
  });

  it("success: one callback on its own, several as one group, a group callback as its own group", () => {
    const one = successFollowUps(running({ callbacks: [sig("svc.log", ["x"])] }, 5), { r: 1 }, ids());
    expect(summary(one)).toEqual([
      {
        rk: "svc.log",
        task: "svc.log",
        id: "id-1",
        args: [{ r: 1 }, "x"],
        parent: { id: "A", rootId: "R" },
        group: null,
        chain: null,
        priority: 5,
      },
    ]);
    const group = sig(
      "celery.group",
      [],
      { task_id: "G" },
      { subtask_type: "group", kwargs: { tasks: [sig("svc.x", []), sig("svc.y", [])] } },
    );
    const many = successFollowUps(
      running({ callbacks: [sig("svc.p", []), group, sig("svc.q", [])] }),
      7,
      ids(),
    );
    expect(summary(many).map((m) => [m.task, m.args, m.group])).toEqual([
      ["svc.x", [7], { id: "G", index: 0 }],
      ["svc.y", [7], { id: "G", index: 1 }],
      ["svc.p", [7], { id: "id-3", index: 0 }],
      ["svc.q", [7], { id: "id-3", index: 1 }],
    ]);
  });

  it("failure: errbacks as one group with the failed task's id; the chain's later steps are named for their FAILURE rows", () => {
    const message = running({
      errbacks: [sig("svc.on_error", [], {}, { kwargs: { tag: "t" } })],
      chain: [sig("svc.c", [], { task_id: "C" }), sig("svc.b", [], { task_id: "B" })],
    });
    const errbacks = failureFollowUps(message, ids());
    expect(summary(errbacks)).toEqual([
      {
        rk: "svc.on_error",
        task: "svc.on_error",
        id: "id-2",
        args: ["A"],
        parent: { id: "A", rootId: "R" },
        group: { id: "id-1", index: 0 },
        chain: null,
        priority: null,
      },
    ]);
    expect(errbacks[0]!.init.kwargs).toEqual({ tag: "t" });
    expect(chainStepIds(message)).toEqual(["C", "B"]);
  });

  it("a nested chain or chord callback starts as Celery starts it", () => {
    const chained = sig(
      "celery.chain",
      [],
      {},
      {
        subtask_type: "chain",
        kwargs: { tasks: [sig("svc.x", [], { task_id: "X" }), sig("svc.y", [], { task_id: "Y" })] },
      },
    );
    expect(summary(successFollowUps(running({ callbacks: [chained] }), 1, ids()))).toMatchObject([
      { task: "svc.x", id: "X", args: [1], chain: [sig("svc.y", [], { task_id: "Y" })] },
    ]);
    const chord = sig(
      "celery.chord",
      [],
      {},
      {
        subtask_type: "chord",
        kwargs: { header: [sig("svc.h", [])], body: sig("svc.total", [], { task_id: "T" }) },
      },
    );
    const started = summary(successFollowUps(running({ callbacks: [chord] }), 1, ids()));
    expect(started.map((m) => [m.task, m.args])).toEqual([
      ["svc.h", [1]],
      ["celery.chord_unlock", [started[0]!.group!.id, sig("svc.total", [], { task_id: "T" })]],
    ]);
    expect(started[1]!.rk).toBe("svc.#");
  });
});

describe("celery.chord_unlock", () => {
  const body = sig("svc.total", [], { task_id: "T", link_error: [sig("svc.on_error", [])] });
  const call = parseChordUnlock(["G", body], {
    interval: null,
    max_retries: null,
    result: [
      [["H1", null], null],
      [["H2", null], null],
    ],
  });
  const parent = { id: "U", rootId: "U" };
  const results = (h1: HeaderResult, h2?: HeaderResult) =>
    new Map(
      h2
        ? [
            ["H1", h1],
            ["H2", h2],
          ]
        : [["H1", h1]],
    );
  const ok = (value: unknown): HeaderResult => ({ status: "SUCCESS", value, error: null });

  it("reads the call Celery's chord sends", () => {
    expect(call).toEqual({ groupId: "G", body, headerIds: ["H1", "H2"], intervalS: 1 });
    expect(parseChordUnlock(["G"], {})).toBe("args[1] (the body) is not a signature");
  });

  it("waits until every header task is ready", () => {
    if (typeof call === "string") throw new Error(call);
    expect(decideChordUnlock(call, results(ok(1)), { parent })).toEqual({ kind: "wait", delayMs: 1_000 });
    expect(
      decideChordUnlock(call, results(ok(1), { status: "STARTED", value: null, error: null }), { parent })
        .kind,
    ).toBe("wait");
  });

  it("sends the body once, with the header's values in order", () => {
    if (typeof call === "string") throw new Error(call);
    const decision = decideChordUnlock(call, results(ok(2), ok(3)), { parent, newId: ids() });
    expect(decision.kind).toBe("ready");
    const [message] = (decision as { messages: ReturnType<typeof successFollowUps> }).messages;
    expect(message!.init).toMatchObject({ task: "svc.total", id: "T", args: [[2, 3]], parent });
  });

  it("fails the body with a ChordError naming the failed dependency, and calls its errbacks with its id", () => {
    if (typeof call === "string") throw new Error(call);
    const failed: HeaderResult = {
      status: "FAILURE",
      value: null,
      error: { type: "ValueError", message: "bad" },
    };
    const decision = decideChordUnlock(call, results(ok(2), failed), { parent, newId: ids() });
    expect(decision).toMatchObject({
      kind: "failed",
      bodyId: "T",
      error: {
        type: "ChordError",
        message: "Dependency H2 raised ValueError('bad')",
        module: "celery.exceptions",
      },
    });
    const errbacks = (decision as { messages: ReturnType<typeof successFollowUps> }).messages;
    expect(errbacks.map((m) => [m.init.task, m.init.args])).toEqual([["svc.on_error", ["T"]]]);
  });
});
