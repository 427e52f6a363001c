import { describe, expect, it } from "vitest";
import { newTaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";
import { H } from "../protocol/envelope.js";
import { deliveryLimitRow } from "./deliveryLimitRow.js";

const msg = newTaskMessage({ task: "svc.a", id: "T1", args: [1], parent: { id: "P", rootId: "R" } });
const { content, properties } = encodeTaskMessage(msg, { now: new Date("2026-01-01T00:00:00.000Z") });

/** The copy as RabbitMQ dead-letters it: x-death first entry is the latest death. */
const copy = (deaths: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
  content,
  properties: { ...properties, headers: { ...properties.headers, [H.death]: deaths, ...extra } },
});

describe("a task dead-lettered at its service queue's delivery limit", () => {
  it("is a FAILURE with Celery's WorkerLostError and the task's fields", () => {
    const row = deliveryLimitRow(copy([{ reason: "delivery_limit", queue: "p.svc", count: 1 }]), "p.svc");
    expect(row).toMatchObject({
      taskId: "T1",
      name: "svc.a",
      state: "FAILURE",
      queue: "p.svc",
      parentId: "P",
      rootId: "R",
      error: { type: "WorkerLostError", module: "billiard.exceptions" },
    });
    expect(row?.state === "FAILURE" && row.error.message).toContain("queue.deliveryLimit");
  });

  it("is not: another queue's limit, an expiry, a worker's dead letter, a message that does not decode", () => {
    expect(
      deliveryLimitRow(copy([{ reason: "delivery_limit", queue: "p.platform" }]), "p.svc"),
    ).toBeUndefined();
    expect(deliveryLimitRow(copy([{ reason: "expired", queue: "p.svc" }]), "p.svc")).toBeUndefined();
    const stamped = copy([{ reason: "delivery_limit", queue: "p.svc" }], { [H.reason]: "permanent-error" });
    expect(deliveryLimitRow(stamped, "p.svc")).toBeUndefined();
    const inQueue = copy([{ reason: "delivery_limit", queue: "p.svc" }]).properties;
    expect(deliveryLimitRow({ content: Buffer.from("{"), properties: inQueue }, "p.svc")).toBeUndefined();
  });
});
