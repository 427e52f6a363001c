import { defineTask, entityNames } from "@worker-toolbox/config";
import amqp, { type GetMessage } from "amqplib";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { getTask } from "../../packages/runtime/src/results/readResults.js";
import { implementTask } from "../../packages/runtime/src/worker/index.js";
import { findCeleryPython, runPythonScript, warnCeleryMissing } from "../support/celeryPython.js";
import { pythonClientWorld } from "../support/pythonClient.js";
import { testServers } from "../support/servers.js";

/**
 * Issue 9 "Interop": a real Python Celery producer (Debian's python3-celery), configured only with what
 * `worker-toolbox celery-config` prints, sends tasks with `app.send_task`; the TypeScript worker executes
 * them, and the Python side reads the results back through Celery's own database result backend
 * (`AsyncResult(id).get()`), so the whole Celery round trip is exercised.
 */
const SERVICE = "interop";
const celery = findCeleryPython();
if (!celery.found)
  warnCeleryMissing("the Python Celery producer → TypeScript worker interop test", celery.reason);

const addContract = defineTask({
  name: "interop.add",
  args: z.tuple([z.number(), z.number()]),
  // def add(a, b, scale=1, label=""): Python callers may name a and b too.
  argNames: ["a", "b"],
  kwargs: z.strictObject({ scale: z.number().default(1), label: z.string().default("") }),
  result: z.object({ sum: z.number(), label: z.string() }),
});

/** The producer: send the calls, print their ids, then wait for every result through the result backend. */
const PRODUCER = `
import json, os, sys
from celery import Celery

app = Celery("interop-producer")
app.config_from_object(os.environ["WT_CELERY_SETTINGS"])

calls = json.loads(os.environ["CALLS"])
sent = [app.send_task("interop.add", args=call["args"], kwargs=call["kwargs"]) for call in calls]
print("SENT " + json.dumps([r.id for r in sent]), flush=True)

outcomes = []
for r in sent:
    try:
        outcomes.append({"ok": True, "value": r.get(timeout=60), "state": r.state})
    except Exception as e:
        outcomes.append({"ok": False, "type": type(e).__name__, "message": str(e), "state": r.state})
print("OUTCOMES " + json.dumps(outcomes), flush=True)
`;

interface Call {
  args: unknown[];
  kwargs: Record<string, unknown>;
}
type Outcome =
  | { ok: true; value: unknown; state: string }
  | { ok: false; type: string; message: string; state: string };

const GOOD: Call[] = [
  { args: [2, 3], kwargs: {} },
  { args: [2, 3], kwargs: { scale: 10, label: "ten" } },
  { args: [-4, 0.5], kwargs: { label: "négatif" } },
  // add.delay(a=2, b=3, scale=2) and add.delay(2, b=3): keywords for positional-or-keyword parameters.
  { args: [], kwargs: { a: 2, b: 3, scale: 2 } },
  { args: [2], kwargs: { b: 3 } },
];
// A string where the contract wants a number: the worker must dead-letter it, not run it.
const BAD: Call = { args: ["two", 3], kwargs: {} };

const servers = testServers();
const executed: Call[] = [];
const world = pythonClientWorld("celery_producer", SERVICE, () => [
  implementTask(addContract, ({ args: [a, b], kwargs }) => {
    executed.push({ args: [a, b], kwargs });
    return { sum: (a + b) * kwargs.scale, label: kwargs.label };
  }),
]);

async function runProducer(calls: Call[]): Promise<{ ids: string[]; outcomes: Outcome[]; log: string }> {
  if (!celery.found) throw new Error("no celery python");
  const { lines, log } = await runPythonScript(celery.python, PRODUCER, {
    dir: world.dir,
    tags: ["SENT", "OUTCOMES"],
    env: { CALLS: JSON.stringify(calls) },
  });
  return { ids: JSON.parse(lines.SENT) as string[], outcomes: JSON.parse(lines.OUTCOMES) as Outcome[], log };
}

describe.skipIf(!celery.found)(
  `Python Celery ${celery.found ? celery.celeryVersion : ""} producer → TypeScript worker`,
  () => {
    it("send_task calls run on the TypeScript worker; AsyncResult.get() returns their values; a call breaking the contract is dead-lettered", async () => {
      const { ids, outcomes, log } = await runProducer([...GOOD, BAD]);
      expect(ids, log).toHaveLength(GOOD.length + 1);
      const goodIds = ids.slice(0, GOOD.length);
      const badId = ids[GOOD.length]!;

      // The full Celery round trip: Celery read the rows the TypeScript worker wrote.
      expect(outcomes, log).toEqual([
        { ok: true, state: "SUCCESS", value: { sum: 5, label: "" } },
        { ok: true, state: "SUCCESS", value: { sum: 50, label: "ten" } },
        { ok: true, state: "SUCCESS", value: { sum: -3.5, label: "négatif" } },
        { ok: true, state: "SUCCESS", value: { sum: 10, label: "" } },
        { ok: true, state: "SUCCESS", value: { sum: 5, label: "" } },
        expect.objectContaining({ ok: false, state: "FAILURE" }),
      ]);
      // Celery rebuilt the error from the FAILURE row: the contract violation with its path.
      const failed = outcomes[GOOD.length] as Extract<Outcome, { ok: false }>;
      expect(failed).toMatchObject({ type: "ContractViolation" });
      expect(failed.message).toContain("args[0]: expected number, received string");

      // The TypeScript worker ran exactly the good calls, with the contract's kwargs defaults applied.
      expect(executed).toEqual([
        { args: [2, 3], kwargs: { scale: 1, label: "" } },
        { args: [2, 3], kwargs: { scale: 10, label: "ten" } },
        { args: [-4, 0.5], kwargs: { scale: 1, label: "négatif" } },
        { args: [2, 3], kwargs: { scale: 2, label: "" } },
        { args: [2, 3], kwargs: { scale: 1, label: "" } },
      ]);
      for (const [i, id] of goodIds.entries()) {
        const view = await getTask(world.pool, "public", id);
        expect(view).toMatchObject({ taskId: id, status: "SUCCESS", name: "interop.add" });
        expect(view.result?.value).toEqual(
          outcomes[i]!.ok ? (outcomes[i] as { value: unknown }).value : null,
        );
        // Celery's send_task starts a new tree: the task is its own root.
        expect(view.result?.rootId).toBe(id);
      }

      const bad = await getTask(world.pool, "public", badId);
      expect(bad.status).toBe("FAILURE");
      expect(bad.result?.error?.message).toContain("args[0]");

      // Dead-lettered once, with the reason in headers, the original routing key and the body unchanged.
      const connection = await amqp.connect(servers.amqpUrl);
      try {
        const channel = await connection.createChannel();
        const letters: GetMessage[] = [];
        for (
          let m = await channel.get(entityNames(world.prefix).serviceDeadLetterQueue(SERVICE), {
            noAck: true,
          });
          m;
        ) {
          letters.push(m);
          m = await channel.get(entityNames(world.prefix).serviceDeadLetterQueue(SERVICE), { noAck: true });
        }
        expect(letters).toHaveLength(1);
        const headers = letters[0]!.properties.headers ?? {};
        expect(headers).toMatchObject({
          id: badId,
          task: "interop.add",
          lang: "py",
          "x-wt-reason": "invalid-arguments",
          "x-wt-attempts": 0,
          "x-wt-original-routing-key": "interop.add",
        });
        expect(String(headers["x-wt-error-message"])).toContain("args[0]");
        expect(JSON.parse(letters[0]!.content.toString())[0]).toEqual(["two", 3]);

        // The service queue is empty: nothing left unacknowledged or redelivered in a loop.
        expect((await channel.checkQueue(entityNames(world.prefix).serviceQueue(SERVICE))).messageCount).toBe(
          0,
        );
        // The platform queue (bound with #) got a copy of every one of the Python producer's messages.
        expect((await channel.checkQueue(entityNames(world.prefix).platformQueue)).messageCount).toBe(
          GOOD.length + 1,
        );
      } finally {
        await connection.close();
      }

      // And the tracker records them: every call Python sent has a tracking row.
      await world.track(GOOD.length + 1);
      for (const [i, call] of [...GOOD, BAD].entries()) {
        const view = await getTask(world.pool, "public", ids[i]!);
        expect(view.tracking, `tracking row of ${ids[i]}`).toMatchObject({
          name: "interop.add",
          args: call.args,
          kwargs: call.kwargs,
        });
      }
    }, 120_000);
  },
);
