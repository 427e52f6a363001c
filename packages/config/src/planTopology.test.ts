import { describe, expect, it } from "vitest";
import { parseConfig } from "./loadConfig.js";
import { pickDelayRung, planTopology } from "./planTopology.js";

const config = parseConfig({
  environment: { prefix: "staging" },
  service: "export",
  queue: { delayRungsMs: [1000, 5000] },
});

describe("planTopology", () => {
  it("plans the exchange, the service and platform queues, dead letters and delay rungs", () => {
    expect(planTopology(config)).toMatchSnapshot();
  });

  it("binds each service with <service>.# and the platform queue with #", () => {
    const plan = planTopology(config, ["export", "orders"]);
    const onExchange = plan.bindings.filter((b) => b.exchange === "staging.tasks");
    expect(onExchange.map((b) => [b.queue, b.routingKey])).toEqual([
      ["staging.export", "export.#"],
      ["staging.orders", "orders.#"],
      ["staging.platform", "#"],
    ]);
  });

  it("dead-letters quorum queues to the service DLQ with a delivery limit", () => {
    const queue = planTopology(config).queues.find((q) => q.name === "staging.export");
    expect(queue?.arguments).toEqual({
      "x-queue-type": "quorum",
      "x-dead-letter-exchange": "staging.dead",
      "x-dead-letter-routing-key": "export",
      "x-delivery-limit": 10,
    });
  });

  it("classic queues carry no quorum-only arguments", () => {
    const classic = parseConfig({
      environment: { prefix: "dev" },
      service: "export",
      queue: { type: "classic" },
    });
    for (const queue of planTopology(classic).queues) {
      expect(queue.arguments["x-delivery-limit"]).toBeUndefined();
      expect(queue.arguments["x-dead-letter-strategy"]).toBeUndefined();
    }
  });

  it("refuses reserved service names", () => {
    expect(() => planTopology(config, ["platform"])).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
  });

  it("picks the largest delay rung not longer than the delay", () => {
    expect([0, 999, 1000, 4999, 5000, 60_000].map((ms) => pickDelayRung(config, ms))).toEqual([
      1000, 1000, 1000, 1000, 5000, 5000,
    ]);
  });
});
