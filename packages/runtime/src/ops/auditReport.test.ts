import { describe, expect, it } from "vitest";
import type { AuditGroup, AuditRows } from "../results/lossAccounting.js";
import { buildAuditReport, type QueueCount } from "./auditReport.js";

const at = new Date("2026-03-02T12:00:00Z");
const since = new Date("2026-03-01T12:00:00Z");
const oldest = new Date("2026-03-01T13:00:00Z");

const group = (
  task: string,
  category: AuditGroup["category"],
  states: Record<string, number>,
): AuditGroup => {
  const count = Object.values(states).reduce((a, b) => a + b, 0);
  return { task, category, count, states, oldestAt: oldest, oldestIds: [`${task}-1`] };
};

const queue = (
  service: string,
  role: QueueCount["role"],
  ready: number,
  extra: Partial<QueueCount> = {},
): QueueCount => ({
  service,
  queue: `p.${service}${role === "dead-letters" ? ".dead" : ""}`,
  role,
  exists: true,
  ready,
  unacknowledged: 0,
  consumers: 0,
  ...extra,
});

const rows = (groups: AuditGroup[], untracked: AuditRows["untracked"] = []): AuditRows => ({
  at,
  groups,
  untracked,
});

describe("buildAuditReport", () => {
  it("is ok when every task finished, was dead-lettered, is in flight or expects no result", () => {
    const report = buildAuditReport({
      rows: rows([
        group("export.a", "finished", { SUCCESS: 7, FAILURE: 2, REVOKED: 1 }),
        group("export.a", "dead-lettered", { none: 1 }),
        group("export.a", "in-flight", { none: 2, RETRY: 1 }),
        group("export.b", "no-result-expected", { none: 4 }),
      ]),
      since,
      graceMs: 0,
      queues: [queue("export", "tasks", 0)],
    });
    expect(report.ok).toBe(true);
    expect(report.unaccounted).toEqual([]);
    expect(report.tasks).toEqual([
      expect.objectContaining({
        task: "export.a",
        scheduled: 14,
        succeeded: 7,
        failed: 2,
        revoked: 1,
        deadLettered: 1,
        inFlight: 3,
      }),
      expect.objectContaining({ task: "export.b", scheduled: 4, noResultExpected: 4 }),
    ]);
    expect(report.totals).toMatchObject({ scheduled: 18, succeeded: 7, lost: 0, overdue: 0, untracked: 0 });
  });

  it("calls overdue tasks lost only when nothing of their service waits anywhere", () => {
    const input = {
      rows: rows([
        group("export.a", "overdue", { none: 2, STARTED: 1 }),
        group("billing.b", "overdue", { none: 1 }),
      ]),
      since,
      graceMs: 60_000,
    };
    const report = buildAuditReport({
      ...input,
      queues: [queue("export", "tasks", 0), queue("billing", "tasks", 5), queue("delay", "delay", 0)],
    });
    expect(report.ok).toBe(false);
    expect(report.unaccounted.map((g) => [g.kind, g.task, g.count])).toEqual([
      ["lost", "export.a", 3],
      ["overdue", "billing.b", 1],
    ]);
    expect(report.unaccounted[0]?.states).toEqual({ none: 2, STARTED: 1 });
    expect(report.totals).toMatchObject({ lost: 3, overdue: 1 });

    // A message in a delay rung could be any service's retry.
    const delayed = buildAuditReport({
      ...input,
      queues: [queue("export", "tasks", 0), queue("delay", "delay", 1)],
    });
    expect(delayed.unaccounted.map((g) => g.kind)).toEqual(["overdue", "overdue"]);

    // Consumers may hold unacknowledged messages the broker did not count (no management API).
    const held = buildAuditReport({
      ...input,
      queues: [queue("export", "tasks", 0, { consumers: 2, unacknowledged: undefined })],
    });
    expect(held.unaccounted.find((g) => g.task === "export.a")).toMatchObject({
      kind: "overdue",
      explanation: expect.stringContaining("an unknown number unacknowledged"),
    });

    // The broker was not checked: nothing is called lost.
    const blind = buildAuditReport({ ...input, queues: undefined });
    expect(blind.unaccounted.map((g) => g.kind)).toEqual(["overdue", "overdue"]);
    expect(blind.unaccounted[0]?.explanation).toContain("the broker was not checked");
  });

  it("reports final results without a tracking row as untracked", () => {
    const report = buildAuditReport({
      rows: rows(
        [],
        [{ task: "export.a", count: 2, states: { SUCCESS: 2 }, oldestAt: oldest, oldestIds: ["x", "y"] }],
      ),
      since,
      graceMs: 0,
      queues: [],
      platformDeadLetterIds: new Set(["y"]),
    });
    expect(report.ok).toBe(false);
    expect(report.totals.untracked).toBe(2);
    expect(report.unaccounted).toEqual([
      expect.objectContaining({
        kind: "untracked",
        service: "export",
        count: 2,
        explanation: expect.stringContaining("1 of the ids shown wait in the platform's dead-letter queue"),
      }),
    ]);
  });
});
