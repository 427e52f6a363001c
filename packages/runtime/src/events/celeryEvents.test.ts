import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type CeleryEvent, EventSource, eventMessage, utcoffset } from "./celeryEvents.js";

/** Captured from Celery 5.2.6: test/fixtures/celery/README.md. */
// biome-ignore lint/suspicious/noExplicitAny: captured JSON, read loosely.
const CAPTURED_EVENTS: Record<string, any> = JSON.parse(
  readFileSync(new URL("../../../../test/fixtures/celery/events.json", import.meta.url), "utf8"),
);

const TOOLBOX = {
  sw_ident: "worker-toolbox",
  sw_ver: "0.1.0",
  sw_sys: "Linux",
  wt_service: "svc",
  wt_version: "0.1.0",
  wt_tasks: [{ name: "svc.ok", version: null }],
};

function source() {
  return new EventSource("capw@host", 22160, () => 1_796_468_766_217.4165);
}

/** The captured event's keys, in order, with the toolbox's additions where Celery's receivers allow them. */
const keys = (event: object) => Object.keys(event);

describe("Celery events", () => {
  it("worker events have Celery's fields in Celery's order, then the toolbox's", () => {
    const events = source();
    for (const type of ["worker-online", "worker-heartbeat", "worker-offline"] as const) {
      const event = events.worker(type, { freq: 2, active: 0, processed: 0, ...TOOLBOX });
      const captured = CAPTURED_EVENTS[type].event;
      const celeryKeys = keys(captured).filter((key) => key !== "timestamp" && key !== "type");
      expect(keys(event)).toEqual([
        ...celeryKeys,
        "wt_service",
        "wt_version",
        "wt_tasks",
        "timestamp",
        "type",
      ]);
      expect(event).toMatchObject({
        hostname: "capw@host",
        pid: 22160,
        freq: 2,
        type,
        timestamp: 1796468766.2174165,
      });
      expect(event.loadavg).toHaveLength(3);
    }
  });

  it("task events carry what Celery's worker sends for each", () => {
    const events = source();
    const made: Record<string, CeleryEvent> = {
      "task-received": events.task("task-received", "id-1", {
        name: "svc.ok",
        args: "[1]",
        kwargs: "{}",
        root_id: "id-1",
        parent_id: null,
        retries: 0,
        eta: null,
        expires: null,
      }),
      "task-started": events.task("task-started", "id-1", {}),
      "task-succeeded": events.task("task-succeeded", "id-1", { result: "{'x': 1}", runtime: 0.03 }),
      "task-failed": events.task("task-failed", "id-1", { exception: "ValueError('bad 2')", traceback: "x" }),
      "task-retried": events.task("task-retried", "id-1", { exception: "KeyError('again')", traceback: "x" }),
    };
    for (const [type, event] of Object.entries(made)) {
      expect(keys(event), type).toEqual(keys(CAPTURED_EVENTS[type as keyof typeof CAPTURED_EVENTS].event));
    }
    // One Lamport clock across a worker's events.
    expect(Object.values(made).map((event) => event.clock)).toEqual([1, 2, 3, 4, 5]);
    events.adjust(40);
    expect(events.task("task-started", "id-2", {}).clock).toBe(41);
  });

  it("messages: one event under its type's routing key, task events as a list under task.multi", () => {
    const events = source();
    const heartbeat = eventMessage(
      events.worker("worker-heartbeat", { freq: 2, active: 1, processed: 7, ...TOOLBOX }),
    );
    const captured = CAPTURED_EVENTS["worker-heartbeat"];
    expect(heartbeat.routingKey).toBe(captured.routing_key);
    expect(heartbeat.properties).toEqual({
      contentType: captured.properties.content_type,
      contentEncoding: captured.properties.content_encoding,
      deliveryMode: captured.properties.delivery_mode,
      headers: captured.headers,
    });
    const batch = [events.task("task-started", "a", {}), events.task("task-started", "b", {})];
    const multi = eventMessage(batch);
    expect(multi.routingKey).toBe(CAPTURED_EVENTS["task-started"].routing_key);
    expect(JSON.parse(multi.content.toString())).toEqual(batch);
  });

  it("utcoffset is Python's: hours west of UTC", () => {
    const at = new Date("2024-01-15T12:00:00Z");
    expect(utcoffset(at)).toBe(Math.floor(at.getTimezoneOffset() / 60));
  });
});
