import { describe, expect, it } from "vitest";
import { describeDeadLetter } from "./deadLetterInfo.js";
import { replayHeaders, replayRequest } from "./replayMessage.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");

const workerLetter = {
  content: Buffer.from("[[1],{},{}]"),
  properties: {
    contentType: "application/json",
    contentEncoding: "utf-8",
    correlationId: "id-1",
    priority: 3,
    expiration: "60000",
    timestamp: 1_700_000_000,
    headers: {
      lang: "py",
      task: "export.project.v2",
      id: "id-1",
      retries: 4,
      "x-wt-reason": "retries-exhausted",
      "x-wt-error-class": "TimeoutError",
      "x-wt-error-message": "downstream timed out\nafter 30 s",
      "x-wt-attempts": 5,
      "x-wt-original-exchange": "prod.tasks",
      "x-wt-original-routing-key": "export.project.v2",
      "x-wt-dead-lettered-at": "2026-03-01T11:58:30.000Z",
      "wt-delay": "5s",
    },
  },
};

const brokerLetter = {
  content: Buffer.from("[[],{},{}]"),
  properties: {
    correlationId: "id-2",
    headers: {
      task: "export.render",
      id: "id-2",
      retries: 0,
      "x-delivery-count": 10,
      "x-first-death-reason": "delivery_limit",
      "x-first-death-queue": "prod.export",
      "x-first-death-exchange": "prod.tasks",
      "x-death": [
        {
          count: 1,
          reason: "delivery_limit",
          queue: "prod.export",
          time: NOW / 1_000 - 3_600,
          exchange: "prod.tasks",
          "routing-keys": ["export.render"],
        },
      ],
    },
  },
};

describe("describeDeadLetter", () => {
  it("reads the worker's x-wt-* headers", () => {
    expect(describeDeadLetter(workerLetter, NOW)).toEqual({
      taskId: "id-1",
      task: "export.project.v2",
      origin: "worker",
      reason: "retries-exhausted",
      errorClass: "TimeoutError",
      errorMessage: "downstream timed out\nafter 30 s",
      attempts: 5,
      originalRoutingKey: "export.project.v2",
      deadLetteredAt: "2026-03-01T11:58:30.000Z",
      ageMs: 90_000,
    });
  });

  it("reads RabbitMQ's x-death header for broker dead letters (delivery limit)", () => {
    expect(describeDeadLetter(brokerLetter, NOW)).toMatchObject({
      taskId: "id-2",
      task: "export.render",
      origin: "broker",
      reason: "delivery_limit",
      attempts: 10,
      originalRoutingKey: "export.render",
      ageMs: 3_600_000,
    });
  });

  it("says unknown for a message with neither, and falls back to the correlation id", () => {
    expect(describeDeadLetter({ properties: { correlationId: "c-9", headers: {} } }, NOW)).toMatchObject({
      taskId: "c-9",
      task: undefined,
      origin: "unknown",
      reason: "unknown",
      attempts: undefined,
      ageMs: undefined,
    });
  });
});

describe("replayRequest", () => {
  it("sends the original body to the routing key as a fresh first attempt", () => {
    const request = replayRequest(workerLetter, { exchange: "prod.tasks" }, NOW);
    expect(request).toEqual({
      exchange: "prod.tasks",
      routingKey: "export.project.v2",
      content: workerLetter.content,
      properties: {
        deliveryMode: 2,
        timestamp: NOW / 1_000,
        contentType: "application/json",
        contentEncoding: "utf-8",
        correlationId: "id-1",
        priority: 3,
        headers: { lang: "py", task: "export.project.v2", id: "id-1", retries: 0 },
      },
    });
    expect(request?.properties).not.toHaveProperty("expiration");
  });

  it("strips the broker's death headers and uses x-death's routing key", () => {
    const request = replayRequest(brokerLetter, { exchange: "prod.tasks" }, NOW);
    expect(request?.routingKey).toBe("export.render");
    expect(request?.properties.headers).toEqual({ task: "export.render", id: "id-2", retries: 0 });
  });

  it("sends platform dead letters straight back to a fixed queue", () => {
    const request = replayRequest(workerLetter, { exchange: "", routingKey: "prod.platform" }, NOW);
    expect(request).toMatchObject({ exchange: "", routingKey: "prod.platform" });
  });

  it("gives up on a message that names no routing key", () => {
    expect(
      replayRequest({ content: Buffer.from("x"), properties: {} }, { exchange: "prod.tasks" }),
    ).toBeUndefined();
  });

  it("leaves the retry count alone on messages that are not Celery tasks", () => {
    expect(replayHeaders({ foo: 1, "x-wt-reason": "malformed", timestamp_in_ms: 5 })).toEqual({ foo: 1 });
  });
});
