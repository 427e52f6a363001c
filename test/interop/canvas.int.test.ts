import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { immutable, partial, signature } from "../../packages/runtime/src/canvas/signature.js";
import { chain, chord, group } from "../../packages/runtime/src/canvas/workflows.js";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { getTask, waitForResult } from "../../packages/runtime/src/results/readResults.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import type { PythonWorker } from "../support/pythonCelery.js";
import { canvasContracts } from "./contracts.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * Canvas from the TypeScript producer, run by a real Python Celery worker: the messages `producer.apply`
 * publishes are the ones Celery's canvas publishes, so Celery's worker runs the next chain step, the
 * callbacks, the errbacks (old style: the failed task's id) and the chord (its celery.chord_unlock).
 * TypeScript reads every result back from the rows Celery wrote.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the canvas interop tests", celery.reason);
const py = canvasContracts("interop");

let world: InteropWorld;
let worker: PythonWorker;
let producer: Producer;
const schema = "public";

async function result(id: string) {
  const view = await waitForResult(world.pool, schema, id, { timeoutMs: 30_000, recheckMs: 500 }).catch(
    (error) => {
      throw new Error(`${(error as Error).message}\nPython worker log:\n${worker.log()}`);
    },
  );
  return view.result;
}

describe.skipIf(!celery.found)("canvas: TypeScript producer → Python Celery worker", () => {
  beforeAll(async () => {
    world = await interopWorld("canvas", ["interop"]);
    producer = createProducer({
      config: world.config(),
      contracts: Object.values(py),
      logger: pino({ level: "silent" }),
    });
    await producer.ready(20_000);
    worker = await world.python.startWorker();
  });

  afterAll(async () => {
    await producer?.close();
    await world?.close();
  });

  it("link runs the callback with the result; link_error runs the errback with the failed task's id", async () => {
    const [callbackId, errbackId] = [randomUUID(), randomUUID()];
    const ok = await producer.apply(
      signature(py.add, [2, 3]).link(partial(py.mul, [10], undefined, { id: callbackId })),
    );
    const failing = await producer.apply(
      signature(py.boom, ["no"]).linkError(partial(py.onError, [], { tag: "from-ts" }, { id: errbackId })),
    );
    expect((await result(ok.id))?.value).toBe(5);
    expect((await result(callbackId))?.value).toBe(50);
    expect((await result(failing.id))?.error).toMatchObject({ type: "ValueError", message: "no" });
    expect((await result(errbackId))?.value).toEqual({ failed: failing.id, tag: "from-ts" });
    // Celery sets the follow-up's parent and root: the task that ran before it.
    expect(await getTask(world.pool, schema, callbackId)).toMatchObject({
      status: "SUCCESS",
      name: "interop.mul",
    });
  });

  it("a chain of 3 hands each result to the next step; the receipt's id is the last step's", async () => {
    const receipt = await producer.apply(
      chain(signature(py.add, [1, 2]), partial(py.mul, [10]), partial(py.add, [5])),
    );
    expect(receipt.ids).toHaveLength(3);
    expect((await result(receipt.id))?.value).toBe(35);
    expect((await getTask(world.pool, schema, receipt.ids[1]!)).result?.value).toBe(30);
  });

  it("an immutable step ignores what came before", async () => {
    const receipt = await producer.apply(chain(signature(py.add, [1, 1]), immutable(py.mul, [6, 7])));
    expect((await result(receipt.id))?.value).toBe(42);
  });

  it("group: members run under one group id", async () => {
    const receipt = await producer.apply(group(signature(py.add, [1, 1]), signature(py.add, [2, 2])));
    const values = await Promise.all(receipt.ids.map(async (id) => (await result(id))?.value));
    expect(values).toEqual([2, 4]);
    expect(receipt.groupId).toBeDefined();
  });

  it("chord: the body runs once with the list of the header's results (Celery's chord_unlock)", async () => {
    const receipt = await producer.apply(
      chord(
        group(signature(py.add, [1, 1]), signature(py.mul, [2, 3]), signature(py.add, [0, 4])),
        partial(py.total, []),
      ),
    );
    expect((await result(receipt.id))?.value).toBe(12);
  });
});
