import { defineTask } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { prepareMessage } from "../producer/prepareSend.js";
import { decodeTaskMessage } from "../protocol/decodeTaskMessage.js";
import { type CanvasPlan, planCanvas } from "./planCanvas.js";
import { immutable, partial, signature } from "./signature.js";
import { chain, chord, group } from "./workflows.js";

const a = defineTask({ name: "svc.a", args: z.tuple([z.number()]), result: z.number() });
const b = defineTask({ name: "svc.b", args: z.tuple([z.number(), z.number()]), result: z.number() });
const c = defineTask({
  name: "svc.c",
  args: z.tuple([z.number()]),
  kwargs: z.strictObject({ k: z.number().optional() }),
  result: z.number(),
});
const total = defineTask({
  name: "svc.total",
  args: z.tuple([z.array(z.number())]),
  kwargs: z.strictObject({ k: z.number() }),
  result: z.number(),
});
const err = defineTask({ name: "svc.err", args: z.tuple([z.string(), z.string()]), result: z.null() });
const fetch = defineTask({
  name: "svc.fetch",
  args: z.tuple([z.string()]),
  result: z.object({ rows: z.number() }),
});
const count = defineTask({
  name: "svc.count",
  args: z.tuple([z.object({ rows: z.number() }), z.boolean()]),
  result: z.number(),
});
const note = defineTask({ name: "svc.note", args: z.tuple([z.string()]), result: z.null() });

function ids() {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
}
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
/** A signature dict as Celery writes it. */
const dict = (
  task: string,
  args: unknown[],
  options: Record<string, unknown>,
  more: { kwargs?: object; immutable?: boolean } = {},
) => ({
  task,
  args,
  kwargs: more.kwargs ?? {},
  options,
  subtask_type: null,
  immutable: more.immutable ?? false,
});

/** The JSON bodies and headers the plan's messages go out with. */
function wire(plan: CanvasPlan) {
  return plan.messages.map((message) => {
    const { request } = prepareMessage(
      message.init,
      message.routingKey,
      {},
      { exchange: "x", maxBytes: 1 << 20 },
    );
    const headers = request.properties.headers;
    return {
      rk: request.routingKey,
      body: JSON.parse(request.content.toString()),
      headers: { task: headers.task, id: headers.id, group: headers.group, group_index: headers.group_index },
      decoded: decodeTaskMessage(request.content, request.properties),
    };
  });
}

// Bodies as Celery 5.2.6 published them for the same canvases (captured from apply_async against the
// toolbox topology; `reply_to`, which only Celery's RPC backend reads, left out).
describe("planCanvas writes what Celery's canvas publishes", () => {
  it("link and link_error: the signatures in embed callbacks / errbacks", () => {
    const sig = signature(a, [1])
      .link(partial(b, [2]))
      .linkError(partial(err, ["x"]));
    const [message] = wire(planCanvas(sig, ids()));
    expect(message!.rk).toBe("svc.a");
    expect(message!.body).toEqual([
      [1],
      {},
      {
        callbacks: [dict("svc.b", [2], { task_id: id(2) })],
        errbacks: [dict("svc.err", ["x"], { task_id: id(3) })],
        chain: null,
        chord: null,
      },
    ]);
  });

  it("chain: the first step, the rest last-first in embed.chain with their ids; the result is the last's", () => {
    const plan = planCanvas(chain(signature(a, [1]), partial(b, [2]), immutable(c, [3])), ids());
    const [message] = wire(plan);
    expect(message!.headers).toEqual({ task: "svc.a", id: id(1), group: null, group_index: null });
    expect(message!.body[2].chain).toEqual([
      dict("svc.c", [3], { task_id: id(3) }, { immutable: true }),
      dict("svc.b", [2], { task_id: id(2) }),
    ]);
    expect(plan.receipt).toEqual({ id: id(3), ids: [id(1), id(2), id(3)] });
  });

  it("group: one message per member with the group id and index", () => {
    const plan = planCanvas(group(signature(a, [1]), signature(b, [2, 3])), ids());
    expect(wire(plan).map((m) => [m.rk, m.headers, m.body[0]])).toEqual([
      ["svc.a", { task: "svc.a", id: id(1), group: id(3), group_index: 0 }, [1]],
      ["svc.b", { task: "svc.b", id: id(2), group: id(3), group_index: 1 }, [2, 3]],
    ]);
    expect(plan.receipt).toEqual({ id: id(3), ids: [id(1), id(2)], groupId: id(3) });
  });

  it("chord: header members carry the body; celery.chord_unlock goes to the body's queue in a second", () => {
    const plan = planCanvas(
      chord(group(signature(a, [1]), signature(c, [2])), partial(total, [], { k: 1 })),
      ids(),
    );
    const [first, second, unlock] = wire(plan);
    const body = dict("svc.total", [], { task_id: id(4) }, { kwargs: { k: 1 } });
    expect(first!.headers).toEqual({ task: "svc.a", id: id(1), group: id(3), group_index: 0 });
    expect(second!.headers).toEqual({ task: "svc.c", id: id(2), group: id(3), group_index: 1 });
    expect(first!.body[2]).toEqual({ callbacks: null, errbacks: null, chain: null, chord: body });
    expect(unlock!.rk).toBe("svc.#");
    expect(unlock!.headers).toEqual({
      task: "celery.chord_unlock",
      id: id(5),
      group: null,
      group_index: null,
    });
    expect(unlock!.body).toEqual([
      [id(3), body],
      {
        interval: null,
        max_retries: null,
        result: [
          [[id(1), null], null],
          [[id(2), null], null],
        ],
      },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
    expect(unlock!.decoded.eta).toBeInstanceOf(Date);
    expect(unlock!.decoded.ignoreResult).toBe(true);
    expect(plan.receipt).toEqual({ id: id(4), ids: [id(1), id(2), id(4)], groupId: id(3) });
  });

  it("writes a step's options in Celery's names and units", () => {
    const when = new Date("2030-01-02T03:04:05Z");
    const step = partial(b, [2], undefined, { id: id(99), countdownMs: 1500, expires: 60_000, priority: 5 });
    const late = immutable(c, [3], undefined, { eta: when, expires: when });
    const [message] = wire(planCanvas(chain(signature(a, [1]), step, late), ids()));
    expect(message!.body[2].chain.map((d: { options: unknown }) => d.options)).toEqual([
      { task_id: id(2), eta: "2030-01-02T03:04:05+00:00", expires: "2030-01-02T03:04:05+00:00" },
      { task_id: id(99), countdown: 1.5, expires: 60, priority: 5 },
    ]);
  });
});

describe("signatures and workflows check their calls", () => {
  it("validates arguments when a signature is made (a partial's from its second on)", () => {
    expect(() => signature(a, ["x" as never])).toThrow(/args\[0\]: expected number/);
    expect(() => partial(b, ["x" as never])).toThrow(/args\[1\]: expected number/);
    expect(() => partial(total, [], {} as never)).toThrow(/kwargs\.k/);
  });

  it("refuses what the types refuse, for callers without types", () => {
    const loose = chain as (...steps: unknown[]) => unknown;
    expect(() => loose(partial(b, [2]), partial(b, [2]))).toThrow(/nothing comes before it/);
    expect(() => loose(signature(a, [1]), signature(a, [2]))).toThrow(/would be prepended/);
  });

  it("types each hand-over: a step's input is the previous step's result", () => {
    chain(signature(fetch, ["org"]), partial(count, [true]), immutable(note, ["done"]));
    chord(group(signature(count, [{ rows: 1 }, true]), signature(a, [2])), partial(total, [], { k: 1 }));
    signature(fetch, ["org"])
      .link(partial(count, [false]))
      .linkError(partial(note, []));
    // @ts-expect-error count needs { rows }, and note returns null
    expect(() => chain(signature(note, ["a"]), partial(count, [true]))).not.toThrow();
    // @ts-expect-error a chord body receives the list of the header's results
    chord(group(signature(fetch, ["a"])), partial(total, [], { k: 1 }));
    // @ts-expect-error an errback receives the failed task's id, a string
    signature(fetch, ["a"]).linkError(partial(total, [], { k: 1 }));
  });
});
