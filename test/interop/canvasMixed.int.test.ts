import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { immutable, partial, signature } from "../../packages/runtime/src/canvas/signature.js";
import { chain, chord, group } from "../../packages/runtime/src/canvas/workflows.js";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { waitForResult } from "../../packages/runtime/src/results/readResults.js";
import {
  createWorker,
  implementTask,
  PermanentError,
  type Worker,
} from "../../packages/runtime/src/worker/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import type { PythonWorker } from "../support/pythonCelery.js";
import { canvasContracts } from "./contracts.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * Workflows whose steps run in both languages: a Python Celery worker (service `interop`) and a TypeScript
 * worker (service `tsint`) on one broker and one result store, started by the TypeScript producer and by a
 * Python Celery client. The TypeScript worker publishes the next chain step, callbacks and errbacks before it
 * acks, and runs `celery.chord_unlock` for chords whose body is one of its tasks.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the mixed-language canvas tests", celery.reason);
const py = canvasContracts("interop");
const ts = canvasContracts("tsint");

let world: InteropWorld;
let pyWorker: PythonWorker;
let tsWorker: Worker;
let producer: Producer;

function tsTasks() {
  return [
    implementTask(ts.add, ({ args: [a, b] }) => a + b),
    implementTask(ts.mul, ({ args: [a, b] }) => a * b),
    implementTask(ts.total, ({ args: [values] }) => values.reduce((sum, n) => sum + n, 0)),
    implementTask(ts.boom, ({ args: [message] }) => {
      throw new PermanentError(message);
    }),
    implementTask(ts.onError, ({ args: [failed], kwargs }) => ({ failed, tag: kwargs.tag ?? null })),
  ];
}

async function result(id: string) {
  const view = await waitForResult(world.pool, "public", id, { timeoutMs: 30_000, recheckMs: 500 }).catch(
    (error) => {
      throw new Error(`${(error as Error).message}\nPython worker log:\n${pyWorker.log().slice(-4_000)}`);
    },
  );
  return view.result;
}

describe.skipIf(!celery.found)("canvas across Python and TypeScript workers", () => {
  beforeAll(async () => {
    world = await interopWorld("canvasmix", ["interop", "tsint"]);
    const logger = pino({ level: process.env.WT_TEST_LOG ?? "silent" });
    tsWorker = createWorker({ config: world.config({ service: "tsint" }), tasks: tsTasks(), logger });
    producer = createProducer({
      config: world.config(),
      contracts: [...Object.values(py), ...Object.values(ts)],
      logger,
    });
    [pyWorker] = await Promise.all([world.python.startWorker(), tsWorker.start(), producer.ready(20_000)]);
  });

  afterAll(async () => {
    await producer?.close();
    await tsWorker?.close({ graceMs: 1_000 });
    await world?.close();
  });

  it("from TypeScript: a chain of 3 steps alternating languages; link and link_error on a TypeScript task", async () => {
    const mixed = await producer.apply(
      chain(signature(py.add, [1, 2]), partial(ts.mul, [10]), partial(py.add, [5])),
    );
    const [callbackId, errbackId] = [randomUUID(), randomUUID()];
    await producer.apply(
      signature(ts.add, [2, 3]).link(partial(py.mul, [10], undefined, { id: callbackId })),
    );
    const failing = await producer.apply(
      signature(ts.boom, ["no"]).linkError(partial(ts.onError, [], { tag: "ts" }, { id: errbackId })),
    );
    expect((await result(mixed.id))?.value).toBe(35);
    expect((await result(mixed.ids[1]!))?.parentId).toBe(mixed.ids[0]);
    expect((await result(callbackId))?.value).toBe(50);
    expect((await result(failing.id))?.error).toMatchObject({ message: "no" });
    // Celery's errback convention: the errback gets the failed task's id first.
    expect((await result(errbackId))?.value).toEqual({ failed: failing.id, tag: "ts" });
  });

  it("from TypeScript: a group on the TypeScript worker; chords with the header on one side and the body on the other", async () => {
    const members = await producer.apply(group(signature(ts.add, [1, 1]), signature(ts.add, [2, 2])));
    const tsHeader = await producer.apply(
      chord(group(signature(ts.add, [1, 1]), signature(ts.mul, [2, 3])), partial(py.total, [])),
    );
    const pyHeader = await producer.apply(
      chord(group(signature(py.add, [1, 1]), signature(py.mul, [2, 3])), partial(ts.total, [])),
    );
    const rows = await Promise.all(members.ids.map((id) => result(id)));
    expect(rows.map((row) => row?.value)).toEqual([2, 4]);
    expect((await result(tsHeader.id))?.value).toBe(8);
    // The body is a TypeScript task: the TypeScript worker ran celery.chord_unlock.
    expect((await result(pyHeader.id))?.value).toBe(8);
  });

  it("a failed step fails the rest of a chain: the chain's result id reads FAILURE, not PENDING", async () => {
    const receipt = await producer.apply(
      chain(signature(ts.boom, ["stop"]), partial(py.mul, [10]), immutable(py.add, [1, 1])),
    );
    const last = await result(receipt.id);
    expect(last?.status).toBe("FAILURE");
    expect(last?.error?.message).toBe("stop");
  });

  it("from a Python Celery client: chain, link, link_error, group and chords through TypeScript tasks", async () => {
    const run = await world.python.run(
      "import runpy; runpy.run_module('canvas_client', run_name='__main__')",
      {},
      120_000,
    );
    const line = run.out.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`the Python client failed:\n${run.out}`);
    const out = JSON.parse(line.slice(7)) as Record<
      string,
      { ok: boolean; value?: unknown; type?: string; message?: string; id: string }
    >;
    expect(out.chain).toMatchObject({ ok: true, value: 35 });
    expect(out.link).toMatchObject({ ok: true, value: 5 });
    expect(out.link_callback).toMatchObject({ ok: true, value: 50 });
    expect(out.link_error).toMatchObject({ ok: false, type: "PermanentError", message: "from python" });
    expect(out.link_errback).toMatchObject({ ok: true, value: { failed: out.link_error!.id, tag: "py" } });
    expect(out.group).toMatchObject({ ok: true, value: [2, 4] });
    expect(out.chord_ts_header).toMatchObject({ ok: true, value: 6 });
    expect(out.chord_py_header).toMatchObject({ ok: true, value: 8 });
    expect(out.chain_failure).toMatchObject({ ok: false, message: "stop" });
  });
});
