import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorker, implementTask } from "../../packages/runtime/src/worker/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { canvasContracts } from "./contracts.js";
import { type InteropWorld, interopWorld } from "./world.js";

/**
 * Celery events from a TypeScript worker, watched by Celery's own event receiver and State (what
 * `celery events` and Flower run): the worker comes online, beats, carries the toolbox's identity, and
 * goes offline when it stops.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Celery events interop tests", celery.reason);
const ts = canvasContracts("tsint");

let world: InteropWorld;

interface ReceiverResult {
  events: { type: string; [field: string]: unknown }[];
  alive_while_running: boolean[];
  worker: { alive: boolean; heartbeats: number; freq: number; sw_ident: string } | null;
  tasks: Record<
    string,
    { state: string; name: string | null; result: string | null; exception: string | null }
  >;
}

describe.skipIf(!celery.found)("Celery events from a TypeScript worker", () => {
  beforeAll(async () => {
    world = await interopWorld("events", ["tsint"]);
  });

  afterAll(async () => {
    await world?.close();
  });

  it("worker-online, heartbeats with the toolbox's identity, worker-offline: Celery's State sees it alive, then gone", async () => {
    const worker = createWorker({
      config: world.config({ service: "tsint", worker: { events: true, heartbeatMs: 500 } }),
      tasks: [implementTask(ts.add, ({ args: [a, b] }) => a + b)],
      logger: pino({ level: "silent" }),
    });
    const receiver = world.python.start(["-m", "event_receiver"], { NODE: worker.nodeName, SECONDS: "30" });
    await receiver.line("READY");
    await worker.start();
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await worker.close({ graceMs: 1_000 });
    const result = JSON.parse(await receiver.line("RESULT ")) as ReceiverResult;

    const types = result.events.map((event) => event.type);
    expect(types[0]).toBe("worker-online");
    expect(types.at(-1)).toBe("worker-offline");
    expect(types.filter((type) => type === "worker-heartbeat").length).toBeGreaterThanOrEqual(2);
    const heartbeat = result.events.find((event) => event.type === "worker-heartbeat")!;
    expect(heartbeat).toMatchObject({
      hostname: worker.nodeName,
      freq: 0.5,
      active: 0,
      sw_ident: "worker-toolbox",
      wt_service: "tsint",
      wt_tasks: ["tsint.add"],
      wt_concurrency: 8,
    });
    expect(heartbeat.wt_toolbox_version).toMatch(/^\d+\.\d+\.\d+/);
    // Celery's State counted it alive while it beat, and offline after worker-offline.
    expect(result.alive_while_running.every(Boolean)).toBe(true);
    expect(result.worker).toMatchObject({ alive: false, freq: 0.5, sw_ident: "worker-toolbox" });
  });
});
