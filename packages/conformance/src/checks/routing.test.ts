import { describe, expect, it } from "vitest";
import { route, shortQueueSet, topicMatches } from "./routing.js";

describe("topicMatches", () => {
  it.each([
    ["export.#", "export.project.v1", true],
    ["export.#", "export", true],
    ["export.#", "exports.project", false],
    ["#", "anything.at.all", true],
    ["#", "", true],
    ["export.*", "export.project", true],
    ["export.*", "export.project.v1", false],
    ["*.project.#", "export.project.v2", true],
    ["export.project.v1", "export.project.v1", true],
    ["export.project", "export.project.v1", false],
    ["#.v1", "export.project.v1", true],
  ])("%s matches %s: %s", (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });
});

describe("route", () => {
  const exchanges = [
    { name: "p.tasks", type: "topic" },
    { name: "p.side", type: "fanout" },
    { name: "p.delay", type: "headers" },
  ];
  const bindings = [
    { source: "p.tasks", destination: "p.export", destinationType: "queue" as const, routingKey: "export.#" },
    { source: "p.tasks", destination: "p.platform", destinationType: "queue" as const, routingKey: "#" },
    { source: "p.tasks", destination: "p.orders", destinationType: "queue" as const, routingKey: "orders.#" },
  ];

  it("finds exactly the queues whose bindings match the key", () => {
    expect(route(exchanges, bindings, "p.tasks", "export.project.v1")).toEqual({
      queues: ["p.export", "p.platform"],
      unknown: [],
      missingExchange: false,
    });
  });

  it("follows exchange-to-exchange bindings and reports headers exchanges as unknown", () => {
    const more = [
      ...bindings,
      {
        source: "p.tasks",
        destination: "p.side",
        destinationType: "exchange" as const,
        routingKey: "export.*.v1",
      },
      { source: "p.side", destination: "p.audit", destinationType: "queue" as const, routingKey: "" },
      { source: "p.side", destination: "p.delay", destinationType: "exchange" as const, routingKey: "" },
      { source: "p.delay", destination: "p.delay.1s", destinationType: "queue" as const, routingKey: "" },
    ];
    const found = route(exchanges, more, "p.tasks", "export.project.v1");
    expect(found.queues).toEqual(["p.audit", "p.export", "p.platform"]);
    expect(found.unknown).toEqual(["p.delay"]);
  });

  it("routes by exact key on a direct exchange, so export.# never matches a task name", () => {
    const direct = [{ name: "p.tasks", type: "direct" }];
    expect(route(direct, bindings, "p.tasks", "export.project.v1").queues).toEqual([]);
  });

  it("reports a missing start exchange", () => {
    expect(route([], bindings, "p.tasks", "export.x").missingExchange).toBe(true);
  });
});

it("shortQueueSet strips the prefix", () => {
  expect(shortQueueSet(["p.platform", "p.export"], "p")).toBe("{export, platform}");
});
