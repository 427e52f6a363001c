import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CeleryDate, CeleryDecimal } from "../../packages/runtime/src/protocol/values.js";
import { createResultStore, getTask } from "../../packages/runtime/src/results/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { resultsWorld } from "./world.js";

/**
 * Celery (Python) reads rows the TypeScript store wrote, through its own database backend
 * (`result_backend='db+postgresql://...'`), and writes rows the TypeScript readers read.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Celery database backend interop tests", celery.reason);
const python = celery.found ? celery.python : undefined;

const PY = String.raw`
import json, os, sys
from celery import Celery, states
from celery.exceptions import TaskRevokedError
from celery.result import AsyncResult

schema = os.environ["SCHEMA"]
app = Celery("interop", broker="memory://", backend="db+" + os.environ["DB_URL"])
app.conf.database_table_schemas = {"task": schema, "group": schema}

ok = AsyncResult("ts-ok", app=app)
assert ok.state == "SUCCESS", ok.state
value = ok.get(timeout=10)
assert value == json.loads(os.environ["OK_VALUE"]), value

failed = AsyncResult("ts-fail", app=app)
try:
    failed.get(timeout=10)
    sys.exit("FAILURE row did not raise")
except ValueError as e:
    assert str(e) == "boom from node", repr(e)
assert failed.traceback == "Error: boom from node\n    at handler (export.ts:1:1)", failed.traceback

progress = AsyncResult("ts-progress", app=app)
assert progress.state == "PROGRESS" and progress.info == {"done": 2, "total": 5}, (progress.state, progress.info)

try:
    AsyncResult("ts-revoked", app=app).get(timeout=10)
    sys.exit("REVOKED row did not raise")
except TaskRevokedError as e:
    assert "expired" in str(e), repr(e)

assert AsyncResult("ts-unknown", app=app).state == "PENDING"

import datetime, decimal
app.backend.store_result("py-ok", {"from": "python", "n": 2**70, "pair": (1, 2.5), "tags": {"x"}}, states.SUCCESS)
app.backend.store_result("py-dated", [datetime.datetime(2024, 5, 1, 12, 0, 1), datetime.date(2024, 5, 1), decimal.Decimal("9.90")], states.SUCCESS)
app.backend.store_result("py-fail", ValueError("from python"), states.FAILURE, traceback="tb")
app.backend.store_result("py-retry", KeyError("missing", 3), states.RETRY)
app.backend.mark_as_revoked("py-revoked", reason="terminated")
app.backend.store_result("py-progress", {"done": 1, "total": 4}, "PROGRESS")
class Mine:
    pass
app.backend.store_result("py-object", Mine(), states.SUCCESS)
print("celery-interop-ok")
`;

const schema = "interop";

describe.skipIf(!python)("Celery database backend interop", () => {
  const world = resultsWorld("celery", { schema });

  it("AsyncResult.get() returns TS-written results and raises TS-written failures; Celery's writes read back", async () => {
    const store = createResultStore({ pool: world.pool, schema, workerName: "export@ts" });
    const value = {
      links: [{ text: "export.zip", url: "https://x/y" }],
      n: 3,
      f: 1.5,
      t: true,
      big: 2n ** 70n,
    };
    await store.markSuccess({ taskId: "ts-ok", name: "export.project", args: [1], kwargs: {} }, value);
    await store.markFailure(
      { taskId: "ts-fail" },
      {
        type: "ValueError",
        message: "boom from node",
        stack: "Error: boom from node\n    at handler (export.ts:1:1)",
      },
    );
    await store.markProgress({ taskId: "ts-progress" }, { done: 2, total: 5 });
    await store.markRevoked({ taskId: "ts-revoked" }, "expired");

    const dbUrl = world.db.url.replace(/^postgres(ql)?:/, "postgresql:");
    const run = spawnSync(python!, ["-c", PY], {
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...process.env,
        DB_URL: dbUrl,
        SCHEMA: schema,
        OK_VALUE: JSON.stringify({ ...value, big: value.big.toString() }).replace(
          `"${value.big}"`,
          `${value.big}`,
        ),
      },
    });
    expect(run.stderr + run.stdout).toContain("celery-interop-ok");
    expect(run.status).toBe(0);

    // Rows Celery wrote: the values, progress meta and exceptions read from Celery's pickles.
    const pyOk = await getTask(world.pool, schema, "py-ok");
    expect(pyOk).toMatchObject({
      status: "SUCCESS",
      result: { value: { from: "python", n: 2n ** 70n, pair: [1, 2.5], tags: ["x"] }, unreadable: null },
    });
    expect(pyOk.result?.dateDone).toBeInstanceOf(Date);
    expect((await getTask(world.pool, schema, "py-dated")).result?.value).toEqual([
      new Date("2024-05-01T12:00:01Z"),
      new CeleryDate("2024-05-01"),
      new CeleryDecimal("9.90"),
    ]);
    expect((await getTask(world.pool, schema, "py-fail")).result).toMatchObject({
      traceback: "tb",
      error: { type: "ValueError", message: "from python", module: "builtins", stack: "tb" },
    });
    expect((await getTask(world.pool, schema, "py-retry")).result).toMatchObject({
      error: { type: "KeyError", message: "('missing', 3)", module: "builtins" },
    });
    expect((await getTask(world.pool, schema, "py-revoked")).result).toMatchObject({
      error: { type: "TaskRevokedError", message: "terminated", module: "celery.exceptions" },
    });
    expect((await getTask(world.pool, schema, "py-progress")).result).toMatchObject({
      status: "PROGRESS",
      meta: { done: 1, total: 4 },
    });
    // A pickled instance of the worker's own class is refused, not constructed: said so, value null.
    const object = await getTask(world.pool, schema, "py-object");
    expect(object.result).toMatchObject({ status: "SUCCESS", value: null });
    expect(object.result?.unreadable).toMatch(/__main__\.Mine/);
  });
});
