import { describe, expect, it } from "vitest";
import { parseConfig } from "./loadConfig.js";
import { pickDelayRung, planTopology } from "./planTopology.js";

const input = {
  environment: { prefix: "staging" },
  service: "export",
  queue: { delayRungsMs: [1000, 5000] },
};
const config = parseConfig(input);

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

  it("dead-letters quorum queues to the service DLQ with a delivery limit, at least once", () => {
    const queue = planTopology(config).queues.find((q) => q.name === "staging.export");
    expect(queue?.arguments).toEqual({
      "x-queue-type": "quorum",
      "x-dead-letter-exchange": "staging.dead",
      "x-dead-letter-routing-key": "export",
      "x-delivery-limit": 10,
      // RabbitMQ ignores the strategy (dead-letters at most once) unless overflow is reject-publish.
      "x-dead-letter-strategy": "at-least-once",
      "x-overflow": "reject-publish",
    });
  });

  it("at-most-once declares the arguments of queues created before the strategy was planned", () => {
    const older = parseConfig({ ...input, queue: { ...input.queue, deadLetterStrategy: "at-most-once" } });
    const byName = new Map(planTopology(older).queues.map((q) => [q.name, q.arguments]));
    for (const name of ["staging.export", "staging.platform"]) {
      expect(byName.get(name)?.["x-dead-letter-strategy"]).toBeUndefined();
      expect(byName.get(name)?.["x-overflow"]).toBeUndefined();
    }
    // Delay rungs always were at-least-once: unchanged.
    expect(byName.get("staging.delay.1s")?.["x-dead-letter-strategy"]).toBe("at-least-once");
  });

  it("sets the replication factor on every quorum queue when configured, and only then", () => {
    const replicated = parseConfig({ ...input, queue: { ...input.queue, replicas: 5 } });
    const plan = planTopology(replicated);
    expect(plan.queues.map((q) => q.arguments["x-quorum-initial-group-size"])).toEqual(
      plan.queues.map(() => 5),
    );
    for (const queue of planTopology(config).queues)
      expect(queue.arguments["x-quorum-initial-group-size"]).toBeUndefined();
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
      expect(queue.arguments["x-overflow"]).toBeUndefined();
    }
    const replicated = parseConfig({ ...input, queue: { type: "classic", replicas: 3 } });
    for (const queue of planTopology(replicated).queues)
      expect(queue.arguments["x-quorum-initial-group-size"]).toBeUndefined();
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
