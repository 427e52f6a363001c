import { parseConfig } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { versionAtLeast } from "../broker/throwawayChannel.js";
import { evaluateAlarms, formatAge } from "./alarms.js";
import type { QueueSample, QueueSnapshot } from "./sampleQueues.js";
import { opsTargets, thresholdsFor } from "./targets.js";

const config = parseConfig({
  environment: { prefix: "prod" },
  broker: { url: "amqp://broker" },
  database: { url: "postgres://db/tasks" },
  monitor: {
    thresholds: { maxDepth: 100, maxOldestMessageAgeMs: 60_000 },
    services: { billing: { maxDepth: 5, alertOnDeadLetters: false }, platform: { minConsumers: 0 } },
  },
});

function sample(queue: string, fields: Partial<QueueSample>): QueueSample {
  return {
    service: "",
    queue,
    role: queue.endsWith(".dead") ? "dead-letters" : "tasks",
    exists: true,
    depth: 0,
    consumers: 1,
    rates: undefined,
    oldestAgeMs: undefined,
    ageSource: "unknown",
    ageNote: undefined,
    ...fields,
  };
}

function snapshot(queues: QueueSample[]): QueueSnapshot {
  return { at: "2026-03-01T12:00:00.000Z", source: "management-api", fallbackReason: undefined, queues };
}

describe("thresholds", () => {
  it("layers per-service overrides over the defaults", () => {
    expect(thresholdsFor(config, "export")).toEqual({
      maxDepth: 100,
      maxOldestMessageAgeMs: 60_000,
      minConsumers: 1,
      alertOnDeadLetters: true,
    });
    expect(thresholdsFor(config, "billing")).toEqual({
      maxDepth: 5,
      maxOldestMessageAgeMs: 60_000,
      minConsumers: 1,
      alertOnDeadLetters: false,
    });
  });

  it("targets each service once, sorted, then the platform queue", () => {
    expect(
      opsTargets(config, ["export", "billing", "export"]).map((t) => [t.queue, t.deadLetterQueue]),
    ).toEqual([
      ["prod.billing", "prod.billing.dead"],
      ["prod.export", "prod.export.dead"],
      ["prod.platform", "prod.platform.dead"],
    ]);
  });
});

describe("evaluateAlarms", () => {
  const targets = opsTargets(config, ["billing", "export"]);

  it("raises nothing for healthy queues", () => {
    const healthy = snapshot([
      sample("prod.billing", { depth: 5 }),
      sample("prod.billing.dead", { depth: 3 }), // billing does not alert on dead letters
      sample("prod.export", { depth: 100, oldestAgeMs: 60_000 }),
      sample("prod.export.dead", {}),
      sample("prod.platform", { consumers: 0 }), // platform allows 0 consumers
      sample("prod.platform.dead", {}),
    ]);
    expect(evaluateAlarms(healthy, targets)).toEqual([]);
  });

  it("names each crossed threshold with its value", () => {
    const sick = snapshot([
      sample("prod.billing", { depth: 6, consumers: 0 }),
      sample("prod.billing.dead", { exists: false, depth: undefined }),
      sample("prod.export", { depth: 101, oldestAgeMs: 90_000 }),
      sample("prod.export.dead", { depth: 2 }),
      sample("prod.platform", {}),
      sample("prod.platform.dead", {}),
    ]);
    const alarms = evaluateAlarms(sick, targets);
    expect(alarms.map((a) => [a.key, a.value, a.threshold])).toEqual([
      ["queue-missing:prod.billing.dead", null, null],
      ["depth:prod.billing", 6, 5],
      ["consumers:prod.billing", 0, 1],
      ["depth:prod.export", 101, 100],
      ["oldest-message-age:prod.export", 90_000, 60_000],
      ["dead-letters:prod.export.dead", 2, 0],
    ]);
    expect(alarms.find((a) => a.kind === "oldest-message-age")?.message).toBe(
      "the oldest message in prod.export waits for 1m30s (more than 1m)",
    );
  });
});

describe("helpers", () => {
  it("formats ages", () => {
    expect([500, 1_000, 90_000, 3_600_000, 90_061_000].map(formatAge)).toEqual([
      "500ms",
      "1s",
      "1m30s",
      "1h",
      "1d1h1m1s",
    ]);
  });

  it("compares broker versions", () => {
    expect(versionAtLeast("4.3.0", 4, 3)).toBe(true);
    expect(versionAtLeast("4.10.1", 4, 3)).toBe(true);
    expect(versionAtLeast("5.0.0", 4, 3)).toBe(true);
    expect(versionAtLeast("4.2.9", 4, 3)).toBe(false);
    expect(versionAtLeast("3.13.7", 4, 3)).toBe(false);
    expect(versionAtLeast("", 4, 3)).toBe(false);
  });
});
