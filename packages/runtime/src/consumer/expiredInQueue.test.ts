import { describe, expect, it } from "vitest";
import { newTaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";
import { H } from "../protocol/envelope.js";
import { expiredInQueueRow } from "./expiredInQueue.js";

const expires = new Date("2026-01-01T00:00:00.000Z");
const msg = newTaskMessage({ task: "svc.a", id: "T1", args: [1], expires, parent: { id: "P", rootId: "R" } });
const { content, properties } = encodeTaskMessage(msg, { now: new Date(expires.getTime() - 1_000) });

/** The copy as RabbitMQ dead-letters it: x-death first entry is the latest death. */
const copy = (deaths: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
  content,
  properties: { ...properties, headers: { ...properties.headers, [H.death]: deaths, ...extra } },
});

describe("a task that expired in its queue", () => {
  it("is REVOKED with the task's fields when the broker expired it in the service queue", () => {
    const row = expiredInQueueRow(copy([{ reason: "expired", queue: "p.svc", count: 1 }]), "p.svc");
    expect(row).toMatchObject({
      taskId: "T1",
      name: "svc.a",
      state: "REVOKED",
      queue: "p.svc",
      parentId: "P",
      rootId: "R",
      reason: "expired at 2026-01-01T00:00:00.000Z while queued",
    });
  });

  it("is not: a retry parked in a delay rung (also `expired`), a rejection, a worker's dead letter", () => {
    const rung = [{ reason: "expired", queue: "p.delay.200ms" }];
    expect(expiredInQueueRow(copy(rung), "p.svc")).toBeUndefined();
    // A later expiry in the service queue is the latest death, listed first.
    expect(expiredInQueueRow(copy([{ reason: "expired", queue: "p.svc" }, ...rung]), "p.svc")).toBeDefined();
    expect(expiredInQueueRow(copy([{ reason: "rejected", queue: "p.svc" }]), "p.svc")).toBeUndefined();
    const stamped = copy([{ reason: "expired", queue: "p.svc" }], { [H.reason]: "permanent-error" });
    expect(expiredInQueueRow(stamped, "p.svc")).toBeUndefined();
    const inQueue = copy([{ reason: "expired", queue: "p.svc" }]).properties;
    expect(expiredInQueueRow({ content: Buffer.from("{"), properties: inQueue }, "p.svc")).toBeUndefined();
  });
});
