import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chain, partial, signature } from "../../packages/runtime/src/canvas/index.js";
import { createInProcessProducer } from "../../packages/runtime/src/inprocess/index.js";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { getFamily, type TaskFamily } from "../../packages/runtime/src/results/readResults.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { label, order, orderChain, pack, ship } from "../fixtures/workers/orderChain.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "./harness.js";

/**
 * The in-process runner against a real worker: the same chain of contracts (progress, a follow-up send, a
 * retry, a transformed result) sent to a worker over RabbitMQ and to the in-process runner, with results in
 * memory and in PostgreSQL. Every task of the family must come out alike: state, value, retries, progress
 * meta, parentage.
 */
let h: Harness;
let worker: Worker;

beforeAll(async () => {
  h = await createHarness("inprocess", testServers());
  worker = createWorker({ config: h.config, tasks: orderChain, logger: testLogger });
  await worker.start();
  await migrate(h.pool, { schema: "inprocess" });
});

afterAll(async () => {
  await worker?.close({ graceMs: 1_000 });
  await h?.close();
});

/** What must match, per task (ids differ between runs; parentage is compared by name). */
function comparable(family: TaskFamily) {
  const nameOf = new Map(family.tasks.map((task) => [task.taskId, task.result?.name]));
  return {
    status: family.status,
    tasks: family.tasks
      .map((task) => ({
        name: task.result?.name,
        status: task.status,
        value: task.result?.value,
        retries: task.result?.retries,
        meta: task.result?.meta,
        error: task.result?.error?.type ?? null,
        parent: task.result?.parentId ? nameOf.get(task.result.parentId) : null,
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
  };
}

async function settledFamily(rootId: string, read: () => Promise<TaskFamily>, size = 3): Promise<TaskFamily> {
  const until = Date.now() + 30_000;
  for (;;) {
    const family = await read();
    const done = family.tasks.filter((task) => ["SUCCESS", "FAILURE", "REVOKED"].includes(task.status));
    if (done.length === size && family.tasks.length === size) return family;
    if (Date.now() > until) throw new Error(`family ${rootId} unfinished: ${JSON.stringify(family)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Send through RabbitMQ to the real worker; the family once its `size` tasks are final. */
async function throughWorker(
  start: (producer: Producer) => Promise<{ rootId: string }>,
  size: number,
): Promise<TaskFamily> {
  const producer = createProducer({
    config: h.config,
    contracts: [order, pack, ship, label],
    logger: testLogger,
  });
  try {
    const { rootId } = await start(producer);
    return await settledFamily(rootId, () => getFamily(h.pool, "public", rootId), size);
  } finally {
    await producer.close();
  }
}

describe("the in-process runner and a real worker", () => {
  it("store the same states, values and retries for a chain with a retry and a progress update", async () => {
    const viaWorker = await throughWorker((producer) => producer.send(order, ["o-7"], { units: 2 }), 3);

    const inMemory = createInProcessProducer({ config: h.config, tasks: orderChain, logger: testLogger });
    const memoryRun = await inMemory.send(order, ["o-7"], { units: 2 });
    const viaMemory = await inMemory.results.getFamily(memoryRun.rootId);

    const inDatabase = createInProcessProducer({
      config: h.config,
      tasks: orderChain,
      logger: testLogger,
      results: { pool: h.pool, schema: "inprocess" },
    });
    const databaseRun = await inDatabase.send(order, ["o-7"], { units: 2 });
    const viaDatabase = await getFamily(h.pool, "inprocess", databaseRun.rootId);

    const expected = comparable(viaWorker);
    expect(expected.tasks.map((task) => [task.name, task.status, task.retries])).toEqual([
      ["wtest.order", "SUCCESS", 0],
      ["wtest.pack", "SUCCESS", 1],
      ["wtest.ship", "SUCCESS", 0],
    ]);
    expect(expected.tasks[0]!.meta).toEqual({ done: 1, total: 2, note: "reserved" });
    expect(comparable(viaMemory)).toEqual(expected);
    expect(comparable(viaDatabase)).toEqual(expected);
  });

  it("run a workflow applied by the producer alike: a chain's next step gets the first step's result", async () => {
    const workflow = () => chain(signature(order, ["o-9"], { units: 1 }), partial(label, []));
    const viaWorker = await throughWorker((producer) => producer.apply(workflow()), 4);
    const inMemory = createInProcessProducer({ config: h.config, tasks: orderChain, logger: testLogger });
    const { rootId } = await inMemory.apply(workflow());
    const viaMemory = await inMemory.results.getFamily(rootId);

    const expected = comparable(viaWorker);
    expect(expected.tasks.find((task) => task.name === "wtest.label")).toMatchObject({
      status: "SUCCESS",
      value: "label for o-9 (1)",
      parent: "wtest.order",
    });
    expect(comparable(viaMemory)).toEqual(expected);
  });
});
