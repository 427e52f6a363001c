import { describe, expect, it } from "vitest";
import { pythonIsoformat, scheduledInfo } from "./inspectReplies.js";
import { ScheduledTasks } from "./scheduledTasks.js";

const task = (id: string) => ({
  id,
  name: "svc.job",
  args: [id],
  kwargs: {},
  exchange: "p.tasks",
  routingKey: "svc.job",
  priority: 0,
  redelivered: false,
});

describe("ScheduledTasks (inspect scheduled)", () => {
  it("lists a parked task, soonest eta first, until its rung gives it back or it arrives again", () => {
    let now = 1_000;
    const scheduled = new ScheduledTasks(() => now);
    scheduled.parked(task("late"), 90_000, 65_000);
    scheduled.parked(task("soon"), 5_000, 5_000);
    scheduled.parked(task("back"), 50_000, 33_000);
    expect(scheduled.list().map((entry) => entry.id)).toEqual(["soon", "back", "late"]);
    scheduled.arrived("back");
    now = 5_000; // the 4 s rung gave `soon` back to the service queue: another worker may take it
    expect(scheduled.list().map((entry) => [entry.id, entry.eta])).toEqual([["late", 90_000]]);
  });

  it("parking again replaces the note; past the limit the oldest notes go", () => {
    const scheduled = new ScheduledTasks(() => 0, 2);
    scheduled.parked(task("a"), 10, 10);
    scheduled.parked(task("b"), 20, 20);
    scheduled.parked(task("a"), 30, 30);
    scheduled.parked(task("c"), 40, 40);
    expect(scheduled.list().map((entry) => entry.id)).toEqual(["a", "c"]);
    expect(scheduled.size).toBe(2);
  });

  it("replies as Celery's scheduled(): eta as Python's isoformat, priority, request info", () => {
    expect(pythonIsoformat(Date.UTC(2026, 11, 5, 19, 45, 0, 250))).toBe("2026-12-05T19:45:00.250000+00:00");
    expect(pythonIsoformat(Date.UTC(2026, 11, 5, 19, 45))).toBe("2026-12-05T19:45:00+00:00");
    const reply = scheduledInfo({ ...task("x"), priority: 3, eta: Date.UTC(2026, 0, 1) }, "svc-1@h", 42);
    expect(reply).toEqual({
      eta: "2026-01-01T00:00:00+00:00",
      priority: 3,
      request: expect.objectContaining({ id: "x", name: "svc.job", args: ["x"], hostname: "svc-1@h" }),
    });
    expect(reply.request).toMatchObject({ time_start: null, worker_pid: null, acknowledged: false });
  });
});
