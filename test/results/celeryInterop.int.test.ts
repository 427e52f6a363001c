import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createResultStore, getTask, migrate } from "../../packages/runtime/src/results/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { type FreshDatabase, freshDatabase } from "./freshDatabase.js";

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

app.backend.store_result("py-ok", {"from": "python"}, states.SUCCESS)
app.backend.store_result("py-fail", ValueError("from python"), states.FAILURE, traceback="tb")
print("celery-interop-ok")
`;

const schema = "interop";
let fresh: FreshDatabase;

describe.skipIf(!python)("Celery database backend interop", () => {
  beforeAll(async () => {
    fresh = await freshDatabase("celery");
    await migrate(fresh.pool, { schema });
  });
  afterAll(async () => {
    await fresh?.close();
  });

  it("AsyncResult.get() returns TS-written results and raises TS-written failures; Celery's writes read back", async () => {
    const store = createResultStore({ pool: fresh.pool, schema, workerName: "export@ts" });
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

    const dbUrl = fresh.db.url.replace(/^postgres(ql)?:/, "postgresql:");
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

    // Rows Celery wrote: status and traceback readable, the value only as Celery's pickle.
    const pyOk = await getTask(fresh.pool, schema, "py-ok");
    expect(pyOk).toMatchObject({ status: "SUCCESS", result: { value: null } });
    expect(pyOk.result?.dateDone).toBeInstanceOf(Date);
    expect(await getTask(fresh.pool, schema, "py-fail")).toMatchObject({
      status: "FAILURE",
      result: { traceback: "tb" },
    });
  });
});
