import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { group, signature } from "../../packages/runtime/src/canvas/index.js";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { getTask } from "../../packages/runtime/src/results/readResults.js";
import { createTracker, type Tracker } from "../../packages/runtime/src/tracker/index.js";
import { canvasContracts } from "../interop/contracts.js";
import { type InteropWorld, interopWorld } from "../interop/world.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { runCliCaptured } from "../support/cli.js";
import { testServers } from "../support/servers.js";

/**
 * Celery's `group` and `group_index` headers on the tracking row, for groups Python Celery sends
 * (`group(...).apply_async()`) and groups the TypeScript producer sends (`producer.apply(group(...))`): the
 * tracker records both, `getTask` (the dashboard's and the CLI's reader) returns them, and `worker-toolbox
 * tasks --group` lists a group's members.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the tracking group tests", celery.reason);

const ts = canvasContracts("tsgrp");
let world: InteropWorld;
let tracker: Tracker;
let producer: Producer;

async function groupColumns(ids: readonly string[]) {
  const { rows } = await world.pool.query<{
    task_id: string;
    group_id: string | null;
    group_index: number | null;
  }>("SELECT task_id, group_id, group_index FROM worker_toolbox_tasks WHERE task_id = ANY($1)", [ids]);
  return ids.map((id) => rows.find((row) => row.task_id === id));
}

describe.skipIf(!celery.found)("the tracking row keeps a task's group id and index", () => {
  beforeAll(async () => {
    world = await interopWorld("trkgroups", ["interop", "tsgrp"]);
    const config = world.config();
    tracker = createTracker({ config, logger: pino({ level: "silent" }) });
    producer = createProducer({ config, contracts: Object.values(ts), logger: pino({ level: "silent" }) });
    await Promise.all([tracker.start(), producer.ready(20_000)]);
  });

  afterAll(async () => {
    await producer?.close();
    await tracker?.close();
    await world?.close();
  });

  it("from a group Python Celery sends and one the TypeScript producer sends", async () => {
    const sent = await world.python.run(
      [
        "import json",
        "from celery import group",
        "from interop_tasks import add",
        "result = group(add.s(1, 1), add.s(2, 2), add.s(3, 3)).apply_async()",
        "print('GROUP', json.dumps({'id': result.id, 'members': [r.id for r in result.results]}))",
      ].join("\n"),
    );
    expect(sent.code).toBe(0);
    const python = JSON.parse(/^GROUP (.*)$/m.exec(sent.out)![1]!) as { id: string; members: string[] };
    const receipt = await producer.apply(group(signature(ts.add, [1, 1]), signature(ts.mul, [2, 3])));

    const expected = (groupId: string, ids: string[], indexed = true) =>
      ids.map((id, index) => ({ task_id: id, group_id: groupId, group_index: indexed ? index : null }));
    // Celery 5.2's group.apply_async() sends `group` but no `group_index` (only a frozen group's members
    // carry one): the row keeps what the message said.
    await expect
      .poll(() => groupColumns(python.members), { timeout: 10_000 })
      .toEqual(expected(python.id, python.members, false));
    await expect
      .poll(() => groupColumns(receipt.ids), { timeout: 10_000 })
      .toEqual(expected(receipt.groupId!, receipt.ids));
    expect((await getTask(world.pool, "public", python.members[2]!)).tracking).toMatchObject({
      name: "interop.add",
      groupId: python.id,
      groupIndex: null,
    });
    expect((await getTask(world.pool, "public", receipt.ids[1]!)).tracking).toMatchObject({
      groupId: receipt.groupId,
      groupIndex: 1,
    });

    const listed = await runCliCaptured(["tasks", "--group", python.id, "--json"], {
      AMQP_URL: testServers().amqpUrl,
      DATABASE_URL: world.database.url,
      WT_ENVIRONMENT_PREFIX: world.prefix,
    });
    expect(listed.code, listed.stderr).toBe(0);
    const members = (JSON.parse(listed.stdout) as { tasks: { taskId: string }[] }).tasks.map((t) => t.taskId);
    expect(members.sort()).toEqual([...python.members].sort());
  });
});
