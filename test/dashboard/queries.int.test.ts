import { createResultStore, upsertTracking } from "@worker-toolbox/runtime/results";
import { beforeAll, describe, expect, it } from "vitest";
import {
  failureGroups,
  failureGroupTaskIds,
  getTaskDetail,
  listTaskNames,
  searchTasks,
  serviceThroughput,
  type TaskFilter,
  throughputSeries,
} from "../../packages/dashboard/src/queries/index.js";
import { resultsWorld } from "../results/world.js";

/**
 * The dashboard's and the CLI's queries on rows written by the real writers (the tracker's upsert and the
 * worker's result store), in a migrated schema with the indexes and history triggers of sql/000002.sql.
 */
const schema = "dash";
const world = resultsWorld("dashq", { schema });

const ids = (filter: TaskFilter) =>
  searchTasks(world.pool, schema, filter, { limit: 500 }).then((page) =>
    page.tasks.map((task) => task.taskId),
  );

beforeAll(async () => {
  // 130 tasks written in one statement share one created_at: the pages must break ties by id.
  await upsertTracking(
    world.pool,
    schema,
    Array.from({ length: 130 }, (_, i) => ({
      taskId: `bulk-${String(i).padStart(3, "0")}`,
      name: i % 2 ? "export.render.v1" : "export.render.v2",
      args: [`invoice-${i}`],
      kwargs: { page: { number: i } },
    })),
  );
  await upsertTracking(world.pool, schema, [
    {
      taskId: "root",
      name: "billing.charge",
      args: [42, { nested: ["deep-value"] }],
      kwargs: { user_id: 7 },
    },
    {
      taskId: "child",
      name: "billing.notify",
      parentId: "root",
      rootId: "root",
      args: ["<script>x</script>"],
    },
    { taskId: "grandchild", name: "export.render", parentId: "child", rootId: "root" },
  ]);
  const store = createResultStore({ pool: world.pool, schema, workerName: "billing@test" });
  await store.markStarted({ taskId: "root", name: "billing.charge", rootId: "root" });
  await store.writeMany([{ taskId: "root", state: "PROGRESS", meta: { done: 1, total: 2 } }]);
  await store.writeMany([
    { taskId: "root", state: "RETRY", retries: 0, error: { type: "Timeout", message: "slow" } },
  ]);
  await store.markSuccess({ taskId: "root", name: "billing.charge", retries: 1 }, { charged: true });
  await store.writeMany([
    {
      taskId: "child",
      name: "billing.notify",
      state: "FAILURE",
      error: { type: "SmtpError", message: "550 no such user" },
    },
    {
      taskId: "bulk-001",
      name: "export.render.v1",
      state: "FAILURE",
      error: { type: "SmtpError", message: "550 no such user" },
    },
    {
      taskId: "bulk-003",
      name: "export.render.v1",
      state: "FAILURE",
      error: { type: "TypeError", message: "x is undefined" },
    },
    {
      taskId: "bulk-005",
      name: "export.render.v1",
      state: "FAILURE",
      error: { type: "TypeError", message: "x is undefined" },
    },
  ]);
});

describe("task list", () => {
  it("pages newest first with no row lost or repeated, even when rows share a timestamp", async () => {
    const seen: string[] = [];
    let before: string | undefined;
    do {
      const page = await searchTasks(world.pool, schema, {}, { limit: 40, ...(before ? { before } : {}) });
      seen.push(...page.tasks.map((task) => task.taskId));
      before = page.next;
    } while (before);
    expect(seen).toHaveLength(133);
    expect(new Set(seen).size).toBe(133);
    expect(seen.slice(0, 3)).toEqual(["root", "grandchild", "child"]);
  });

  it("filters by state, service, task (every version or one), family and time", async () => {
    expect(await ids({ states: ["FAILURE"] })).toEqual(["child", "bulk-005", "bulk-003", "bulk-001"]);
    expect(await ids({ states: ["SUCCESS"] })).toEqual(["root"]);
    expect((await ids({ states: ["PENDING"] })).length).toBe(128);
    expect(await ids({ service: "billing" })).toEqual(["root", "child"]);
    expect((await ids({ task: "export.render" })).length).toBe(131);
    expect((await ids({ task: "export.render.v1" })).length).toBe(65);
    expect(await ids({ task: "export.render.v1", states: ["FAILURE"] })).toEqual([
      "bulk-005",
      "bulk-003",
      "bulk-001",
    ]);
    expect(await ids({ rootId: "root" })).toEqual(["root", "grandchild", "child"]);
    expect(await ids({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  it("finds a value anywhere inside the arguments, or a keyword argument by name", async () => {
    expect(await ids({ arg: "invoice-7" })).toEqual(["bulk-007"]);
    expect(await ids({ arg: "deep-value" })).toEqual(["root"]);
    // 42 is root's first argument and bulk-042's kwargs.page.number.
    expect(await ids({ arg: "42" })).toEqual(["root", "bulk-042"]);
    expect(await ids({ arg: '"42"' })).toEqual([]);
    expect(await ids({ arg: "user_id=7" })).toEqual(["root"]);
    expect(await ids({ arg: "7" })).toEqual(["root", "bulk-007"]);
    expect(await ids({ arg: "<script>x</script>" })).toEqual(["child"]);
    expect(await ids({ arg: "no-such-value" })).toEqual([]);
  });
});

describe("task detail", () => {
  it("has every state with its time and meta, the result, the family and the trace id", async () => {
    const task = await getTaskDetail(world.pool, schema, "root");
    expect(task.status).toBe("SUCCESS");
    expect(task.result?.value).toEqual({ charged: true });
    expect(task.states.map((state) => state.status)).toEqual(["STARTED", "PROGRESS", "RETRY", "SUCCESS"]);
    expect(task.states[1]?.meta).toEqual({ done: 1, total: 2 });
    expect(task.states[2]?.error).toMatchObject({ type: "Timeout", message: "slow" });
    expect(task.family.map((member) => [member.taskId, member.parentId, member.status])).toEqual([
      ["root", null, "SUCCESS"],
      ["child", "root", "FAILURE"],
      ["grandchild", "child", "PENDING"],
    ]);
    expect((await getTaskDetail(world.pool, schema, "nothing")).unknown).toBe(true);
  });
});

describe("failures and throughput", () => {
  it("group failures by task, error class and message, with counts and a sample", async () => {
    const since = new Date(Date.now() - 3_600_000);
    const groups = await failureGroups(world.pool, schema, { since });
    expect(groups.map((g) => [g.task, g.errorType, g.errorMessage, g.count])).toEqual([
      ["export.render.v1", "TypeError", "x is undefined", 2],
      ["billing.notify", "SmtpError", "550 no such user", 1],
      ["export.render.v1", "SmtpError", "550 no such user", 1],
    ]);
    // Both failed in one statement (one timestamp): either is the latest.
    expect(["bulk-005", "bulk-003"]).toContain(groups[0]?.sampleTaskId);
    expect(await failureGroupTaskIds(world.pool, schema, groups[0]!, { since })).toEqual([
      "bulk-005",
      "bulk-003",
    ]);
    expect(await failureGroups(world.pool, schema, { since, service: "export" })).toHaveLength(2);
  });

  it("count finished tasks per service and per minute", async () => {
    const rows = await serviceThroughput(world.pool, schema);
    expect(rows.map((row) => [row.service, row.hour.finished, row.hour.failed])).toEqual([
      ["billing", 2, 1],
      ["export", 3, 3],
    ]);
    const series = await throughputSeries(world.pool, schema, { windowMs: 3_600_000, buckets: 60 });
    expect(series).toHaveLength(60);
    expect(series.reduce((sum, b) => sum + b.succeeded + b.failed, 0)).toBe(5);
    expect(await listTaskNames(world.pool, schema)).toEqual([
      "billing.charge",
      "billing.notify",
      "export.render",
      "export.render.v1",
      "export.render.v2",
    ]);
  });
});

// Last: it adds failures the tests above do not expect.
describe("failure counters", () => {
  it("count a failure once, whether inserted, reached by an update, or written by Celery itself", async () => {
    const store = createResultStore({ pool: world.pool, schema, workerName: "billing@test" });
    await store.markStarted({ taskId: "upd", name: "billing.refund" });
    const failure = { taskId: "upd", name: "billing.refund", state: "FAILURE" as const };
    await store.writeMany([{ ...failure, error: { type: "RefundError", message: "too late" } }]);
    await store.writeMany([{ ...failure, error: { type: "RefundError", message: "too late" } }]); // a duplicate
    // What Celery's database backend writes for a failed task: no error JSON, a traceback.
    await world.pool.query(
      `INSERT INTO ${schema}.celery_taskmeta (id, task_id, status, name, traceback, date_done)
       VALUES (nextval('${schema}.task_id_sequence'), 'py-1', 'FAILURE', 'billing.refund',
               E'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad input\n',
               now() AT TIME ZONE 'UTC')`,
    );
    const groups = await failureGroups(world.pool, schema, {
      since: new Date(Date.now() - 3_600_000),
      service: "billing",
    });
    expect(groups.map((g) => [g.task, g.errorType, g.errorMessage, g.count]).sort()).toEqual([
      ["billing.notify", "SmtpError", "550 no such user", 1],
      ["billing.refund", "RefundError", "too late", 1],
      ["billing.refund", "ValueError", "bad input", 1],
    ]);
  });
});
