import { parseConfig, ToolboxError } from "@worker-toolbox/config";
import type { ConsumeMessage } from "amqplib";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import type { ConfirmPublisher, PublishRequest } from "../broker/confirmPublisher.js";
import { AckTracker } from "../consumer/acks.js";
import type { DurableRetry } from "../consumer/transient.js";
import { newTaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";
import { H } from "../protocol/envelope.js";
import { taskRef } from "../results/messageRows.js";
import type { TaskOutcome } from "../results/resultTypes.js";
import { WorkerMetrics } from "../worker/metrics.js";
import { Delivery } from "./delivery.js";
import type { DeliveryObserver, FollowUps } from "./extensions.js";
import { fakeChannel } from "./fakes.testUtil.js";
import { newWorkerStats, Settle } from "./settle.js";
import { deadLetter, retry, SHUTDOWN, succeeded, type Verdict } from "./verdict.js";

const config = parseConfig({
  mode: "test",
  service: "svc",
  environment: { prefix: "prod" },
  limits: { maxMessageBytes: 2_000 },
});
const task = newTaskMessage({ task: "svc.count", args: [1], id: "id-1" });
const ref = taskRef(task, "prod.svc");
const encoded = encodeTaskMessage(task);

/** A settle wired to stand-ins, recording what happens in order. */
function harness(options: { rows?: (row: TaskOutcome) => Promise<void>; followUps?: FollowUps } = {}) {
  const events: string[] = [];
  const published: PublishRequest[] = [];
  const { channel, asChannel } = fakeChannel();
  channel.ack.mockImplementation(() => events.push("ack"));
  channel.nack.mockImplementation(() => events.push("give back"));
  const stats = newWorkerStats();
  const observer: DeliveryObserver = { settled: (verdict) => events.push(`observed ${verdict.kind}`) };
  const immediately: DurableRetry = { run: (fn) => fn() };
  const settle = new Settle({
    config,
    service: "svc",
    workerName: "svc@host:1",
    logger: pino({ level: "silent" }),
    publisher: {
      publish: vi.fn(async (request: PublishRequest) => {
        published.push(request);
        events.push(`publish ${request.exchange}`);
      }),
    } as unknown as ConfirmPublisher,
    exchanges: { dead: "prod.dead", delay: "prod.delay" },
    rows: {
      add: async (row) => {
        await (options.rows ?? (async () => undefined))(row);
        events.push(`row ${row.state}`);
        return { written: [row.taskId], unchanged: [], stored: () => true };
      },
    },
    retry: immediately,
    stats,
    metrics: new WorkerMetrics({
      service: "svc",
      taskNames: ["svc.count"],
      sample: () => ({ running: 0, pendingResults: 0, consumerActive: true, broker: "connected" }),
    }),
    followUps: options.followUps,
    observer,
  });
  const delivery = new Delivery(
    {
      content: encoded.content,
      fields: { deliveryTag: 1, exchange: "prod.tasks", routingKey: "svc.count" },
      properties: encoded.properties,
    } as unknown as ConsumeMessage,
    new AckTracker(asChannel),
  );
  const run = async (verdict: Verdict) => {
    await settle.settle(delivery, verdict);
    await new Promise((resolve) => setImmediate(resolve)); // acks go out at the end of the turn
  };
  return { events, published, stats, delivery, run };
}

const rowError = Object.assign(new Error("value too long for type character varying(155)"), {
  code: "22001",
});

describe("settle", () => {
  it("Done: stores the row, then acks", async () => {
    const h = harness();
    await h.run(succeeded(task, ref, 7));
    expect(h.events).toEqual(["row SUCCESS", "observed done", "ack"]);
    expect(h.stats.succeeded).toBe(1);
    expect(h.delivery.state).toBe("acked");
  });

  it("Done: publishes the follow-ups after the row and before the ack", async () => {
    const followUp = {
      exchange: "prod.tasks",
      routingKey: "svc.next",
      content: Buffer.from("[]"),
      properties: {},
    };
    const h = harness({
      followUps: { plan: (verdict) => (verdict.kind === "done" ? [followUp, followUp] : []) },
    });
    await h.run(succeeded(task, ref, 7));
    expect(h.events).toEqual([
      "row SUCCESS",
      "publish prod.tasks",
      "publish prod.tasks",
      "observed done",
      "ack",
    ]);
  });

  it("Done whose row the database refuses: dead-lettered unstorable-result instead of left unacknowledged", async () => {
    const h = harness({
      rows: async (row) => {
        if (row.state === "SUCCESS") throw rowError;
      },
    });
    await h.run(succeeded(task, ref, 7));
    expect(h.events).toEqual(["publish prod.dead", "row FAILURE", "observed dead-letter", "ack"]);
    expect(h.published[0]!.properties.headers).toMatchObject({
      [H.reason]: "unstorable-result",
      [H.attempts]: 1,
    });
    // The handler succeeded: the row could not be stored, which is no failed run (tasks_failed_total agrees).
    expect(h.stats).toMatchObject({ succeeded: 0, deadLettered: 1, failed: 0 });
  });

  it("Retry: publishes retries + 1 to a delay rung and stores the RETRY row, then acks", async () => {
    const h = harness();
    await h.run(retry(task, ref, new Error("boom"), 1_000, Date.now()));
    expect(h.events.slice(-2)).toEqual(["observed retry", "ack"]);
    expect(h.events).toContain("row RETRY");
    expect(h.published[0]).toMatchObject({ exchange: "prod.delay", routingKey: "svc.count" });
    expect(h.published[0]!.properties.headers).toMatchObject({ retries: 1, id: "id-1", [H.delay]: "1s" });
    expect(h.stats).toMatchObject({ retried: 1, failed: 1 });
  });

  it("Retry that cannot be built (too large): dead-lettered retries-exhausted", async () => {
    const big = newTaskMessage({ task: "svc.count", args: ["x".repeat(3_000)], id: "id-2" });
    const h = harness();
    await h.run(retry(big, taskRef(big, "prod.svc"), new Error("boom"), 1_000, Date.now()));
    expect(h.published.map((request) => request.exchange)).toEqual(["prod.dead"]);
    expect(h.published[0]!.properties.headers).toMatchObject({
      [H.reason]: "retries-exhausted",
      [H.errorClass]: "ToolboxError",
    });
    expect(h.stats).toMatchObject({ retried: 0, deadLettered: 1 });
  });

  it("Delay: parks the message unchanged in a rung, then acks", async () => {
    const h = harness();
    await h.run({ kind: "delay", task, delayMs: 5_000 });
    expect(h.published[0]).toMatchObject({
      exchange: "prod.delay",
      routingKey: "svc.count",
      content: encoded.content,
    });
    // The largest rung not longer than the delay (the default rungs are 1 s, 2 s, 4 s, 8 s, …).
    expect(h.published[0]!.properties.headers).toMatchObject({ [H.delay]: "4s", retries: 0, id: "id-1" });
    expect(h.events.slice(-1)).toEqual(["ack"]);
    expect(h.stats.delayed).toBe(1);
  });

  it("DeadLetter: publishes the stamped original and stores the FAILURE row, then acks", async () => {
    const h = harness();
    await h.run(deadLetter("invalid-arguments", new TypeError("args[0]: expected number"), 0, ref, task));
    expect(h.published[0]).toMatchObject({
      exchange: "prod.dead",
      routingKey: "svc",
      content: encoded.content,
    });
    expect(h.published[0]!.properties.headers).toMatchObject({
      [H.reason]: "invalid-arguments",
      [H.originalRoutingKey]: "svc.count",
      [H.deadLetteredBy]: "svc@host:1",
    });
    expect(h.events).toContain("row FAILURE");
    expect(h.events.slice(-1)).toEqual(["ack"]);
  });

  it("closing while the row is written: the message is given back, not left unacknowledged", async () => {
    const h = harness({
      rows: async () => {
        throw new ToolboxError("CLOSED", "closing");
      },
    });
    await h.run(succeeded(task, ref, 7));
    expect(h.events).toEqual(["observed give-back", "give back"]);
    expect(h.stats).toMatchObject({ succeeded: 0, requeued: 1 });
    expect(h.delivery.state).toBe("given-back");
  });

  it("GiveBack (shutdown): returns the message to the queue at once", async () => {
    const h = harness();
    await h.run(SHUTDOWN);
    expect(h.events).toEqual(["observed give-back", "give back"]);
    expect(h.stats.requeued).toBe(1);
  });

  it("a second settle of the same delivery is a bug and throws", async () => {
    const h = harness();
    await h.run(succeeded(task, ref, 7));
    await expect(h.run(SHUTDOWN)).rejects.toThrow(/already settled/);
  });
});
