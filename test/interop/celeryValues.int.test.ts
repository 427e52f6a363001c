import { defineTask } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { KOMBU_MARKER_ENCODER_PY } from "../../packages/runtime/src/protocol/kombuMarkers.testUtil.js";
import { CeleryDate, CeleryDecimal, CeleryTime } from "../../packages/runtime/src/protocol/values.js";
import { getTask } from "../../packages/runtime/src/results/readResults.js";
import { implementTask } from "../../packages/runtime/src/worker/index.js";
import { findCeleryPython, runPythonScript, warnCeleryMissing } from "../support/celeryPython.js";
import { pythonClientWorld } from "../support/pythonClient.js";

/**
 * The one value model across languages: a real Python Celery client sends a task whose arguments are a
 * datetime, a date, a time, Decimals and bytes; the TypeScript worker receives them as Date, CeleryDate,
 * CeleryTime, CeleryDecimal and Buffer, returns them, and stores a SUCCESS row that Python's
 * `AsyncResult.get()` turns back into equal Python objects; the tracker stores the tracking row.
 *
 * Celery sends these values with Kombu's `{"__type__", "__value__"}` markers since Kombu 5.3. Debian 12
 * ships Kombu 5.2, which predates them (it sends dates as bare ISO strings and cannot send bytes at all),
 * so on an older Kombu the script gives it the marker encoder Kombu 5.3 has; the message is then what a
 * current Celery client sends.
 */
const SERVICE = "values";
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Python Celery value-model interop test", celery.reason);

const PRODUCER = String.raw`
import base64, datetime, decimal, json, os, uuid
import kombu.utils.json as kj
from celery import Celery

if not hasattr(kj, "register_type"):
${KOMBU_MARKER_ENCODER_PY.replaceAll("\n", "\n    ")}
    kj._default_encoder = MarkerEncoder

app = Celery("values-producer")
app.config_from_object(os.environ["WT_CELERY_SETTINGS"])

tz = lambda h, m=0: datetime.timezone(datetime.timedelta(hours=h, minutes=m))
args = [
    datetime.datetime(2024, 5, 1, 3, 3, 41, 415000, tzinfo=datetime.timezone.utc),
    datetime.date(2024, 2, 29),
    datetime.time(23, 59, 59, 1),
    decimal.Decimal("1.10"),
    b"\x00\xff not utf-8",
    "naïve text".encode("utf-8"),
]
kwargs = {
    "when": datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=tz(5, 30)),
    "price": decimal.Decimal("-0.0000003"),
    "at": datetime.time(8, 0, tzinfo=tz(-5)),
}
r = app.send_task("values.echo", args=args, kwargs=kwargs)
print("SENT " + json.dumps(r.id), flush=True)
value = r.get(timeout=60)
print("STATE " + r.state, flush=True)
print("EQUAL " + json.dumps(value == {"args": args, "kwargs": kwargs}), flush=True)
print("RESULT " + repr(value), flush=True)
`;

const echo = defineTask({
  name: "values.echo",
  args: z.tuple([
    z.date(),
    z.instanceof(CeleryDate),
    z.instanceof(CeleryTime),
    z.instanceof(CeleryDecimal),
    z.instanceof(Buffer),
    z.instanceof(Buffer),
  ]),
  kwargs: z.strictObject({
    when: z.date(),
    price: z.instanceof(CeleryDecimal),
    at: z.instanceof(CeleryTime),
  }),
  result: z.object({ args: z.array(z.unknown()), kwargs: z.record(z.string(), z.unknown()) }),
});

/** What the TypeScript handler received, in the value model. */
const EXPECTED_ARGS = [
  new Date("2024-05-01T03:03:41.415Z"),
  new CeleryDate("2024-02-29"),
  new CeleryTime("23:59:59.000001"),
  new CeleryDecimal("1.10"),
  Buffer.from([0, 0xff, ...Buffer.from(" not utf-8")]),
  Buffer.from("naïve text"),
];
const EXPECTED_KWARGS = {
  when: new Date("1999-12-31T18:29:59.000Z"),
  price: new CeleryDecimal("-3E-7"),
  at: new CeleryTime("08:00:00-05:00"),
};

/** Plain JSON arguments in a body long enough that the worker stores their received text (receivedJson.ts). */
const PLAIN_PRODUCER = String.raw`
import json, os
from celery import Celery

app = Celery("values-producer")
app.config_from_object(os.environ["WT_CELERY_SETTINGS"])
args = [1, -0.0, 2.5e-07, "caf\u00e9 \U0001F600 \"quoted\"\n" + "x" * 9000, [True, None, {"a": []}]]
kwargs = {"note": "n\u00e4me", "n": 12345678901234}
r = app.send_task("values.plain", args=args, kwargs=kwargs)
print("SENT " + json.dumps(r.id), flush=True)
r.get(timeout=60)
print("ARGS " + json.dumps(r.args == args and repr(r.args) == repr(args)), flush=True)
print("KWARGS " + json.dumps(r.kwargs == kwargs), flush=True)
`;

const plain = defineTask({
  name: "values.plain",
  args: z.array(z.unknown()),
  kwargs: z.record(z.string(), z.unknown()),
  result: z.null(),
});

const received: unknown[] = [];
const world = pythonClientWorld("celery_values", SERVICE, () => [
  implementTask(echo, ({ args, kwargs }) => {
    received.push({ args, kwargs });
    return { args, kwargs };
  }),
  implementTask(plain, () => null),
]);

describe.skipIf(!celery.found)(
  "Python Celery client → TypeScript worker: dates, times, decimals, bytes",
  () => {
    it("runs the task, stores a SUCCESS row Python reads back equal, and a tracking row", async () => {
      if (!celery.found) return;
      const { lines, log } = await runPythonScript(celery.python, PRODUCER, {
        dir: world.dir,
        tags: ["SENT", "STATE", "EQUAL", "RESULT"],
      });
      const id = JSON.parse(lines.SENT) as string;
      expect(received, log).toEqual([{ args: EXPECTED_ARGS, kwargs: EXPECTED_KWARGS }]);
      // Celery unpickled datetime, date, time, Decimal and bytes objects equal to the ones it sent.
      expect(lines.STATE, log).toBe("SUCCESS");
      expect(lines.EQUAL, log).toBe("true");

      const view = await getTask(world.pool, "public", id);
      expect(view.status).toBe("SUCCESS");
      expect(view.result?.value).toEqual({ args: EXPECTED_ARGS, kwargs: EXPECTED_KWARGS });
      const { rows } = await world.pool.query<{ args: Buffer }>(
        "SELECT args FROM celery_taskmeta WHERE task_id = $1",
        [id],
      );
      // The arguments column holds Kombu JSON, as Celery's result_extended writes it.
      expect(rows[0]!.args.toString()).toContain('{"__type__": "decimal", "__value__": "1.10"}');

      expect((await world.track(1)).deadLettered).toBe(0);
      const tracked = await getTask(world.pool, "public", id);
      expect(tracked.tracking).toMatchObject({
        name: "values.echo",
        args: EXPECTED_ARGS,
        kwargs: EXPECTED_KWARGS,
      });
      const { rows: raw } = await world.pool.query<{ args: unknown }>(
        "SELECT args FROM worker_toolbox_tasks WHERE task_id = $1",
        [id],
      );
      expect(raw[0]!.args).toContainEqual({ __type__: "date", __value__: "2024-02-29" });
    }, 120_000);

    it("Python reads back through AsyncResult.args the arguments the worker stored from the body's text", async () => {
      if (!celery.found) return;
      const { lines, log } = await runPythonScript(celery.python, PLAIN_PRODUCER, {
        dir: world.dir,
        tags: ["SENT", "ARGS", "KWARGS"],
      });
      expect(lines.ARGS, log).toBe("true");
      expect(lines.KWARGS, log).toBe("true");
      const id = JSON.parse(lines.SENT) as string;
      const { rows } = await world.pool.query<{ args: Buffer }>(
        "SELECT args FROM celery_taskmeta WHERE task_id = $1",
        [id],
      );
      // Python's json.dumps text, as it arrived (ensure_ascii escapes, -0.0, 2.5e-07).
      expect(rows[0]!.args.toString()).toMatch(
        /^\[1, -0\.0, 2\.5e-07, "caf\\u00e9 \\ud83d\\ude00 \\"quoted\\"\\nxxx/,
      );
    }, 120_000);
  },
);
