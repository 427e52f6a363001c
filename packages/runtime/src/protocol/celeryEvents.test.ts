import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type CeleryEvent,
  decodeEventBody,
  decodeWorkerEvent,
  EventSource,
  encodeWorkerEvent,
  eventMessage,
  eventRoutingKey,
  heartbeatExpiresAt,
  utcoffset,
  type WorkerEvent,
} from "./celeryEvents.js";

/** Captured from Celery 5.2.6: test/fixtures/celery/README.md. */
// biome-ignore lint/suspicious/noExplicitAny: captured JSON, read loosely.
const CAPTURED: Record<string, any> = JSON.parse(
  readFileSync(new URL("../../../../test/fixtures/celery/events.json", import.meta.url), "utf8"),
);

const heartbeat: WorkerEvent = {
  type: "worker-heartbeat",
  hostname: "export@host-1",
  timestamp: 1_700_000_000.5,
  freq: 2,
  active: 1,
  processed: 41,
  pid: 1234,
  loadavg: [0.5, 0.25, 0.1],
  swIdent: "worker-toolbox",
  swVer: "0.1.0",
  swSys: "Linux",
  service: "export",
  toolboxVersion: "0.1.0",
  tasks: ["export.project.v1", "export.project.v2"],
  concurrency: 4,
};

describe("Celery worker events", () => {
  it("round-trip through Celery's field names", () => {
    const body = encodeWorkerEvent(heartbeat);
    expect(body).toMatchObject({ sw_ident: "worker-toolbox", wt_service: "export", freq: 2, processed: 41 });
    expect(decodeWorkerEvent(JSON.parse(JSON.stringify(body)))).toEqual(heartbeat);
  });

  it("read a heartbeat as Python Celery 5.2 sends it (no wt_* fields)", () => {
    const python = {
      hostname: "celery@box",
      utcoffset: 0,
      pid: 99,
      clock: 12,
      freq: 2.0,
      active: 0,
      processed: 3,
      loadavg: [0.1, 0.2, 0.3],
      sw_ident: "py-celery",
      sw_ver: "5.2.6",
      sw_sys: "Linux",
      timestamp: 1_700_000_001.25,
      type: "worker-heartbeat",
    };
    const [event] = decodeEventBody(Buffer.from(JSON.stringify([python])));
    expect(decodeWorkerEvent(event!)).toMatchObject({
      hostname: "celery@box",
      swIdent: "py-celery",
      swVer: "5.2.6",
      service: undefined,
      tasks: undefined,
    });
  });

  it("ignore task events and junk", () => {
    expect(decodeWorkerEvent({ type: "task-succeeded", hostname: "a", timestamp: 1 })).toBeUndefined();
    expect(decodeWorkerEvent({ type: "worker-heartbeat", timestamp: 1 })).toBeUndefined();
    expect(decodeEventBody(Buffer.from("not json"))).toEqual([]);
  });

  it("route by type and expire after two missed heartbeats", () => {
    expect(eventRoutingKey("worker-heartbeat")).toBe("worker.heartbeat");
    expect(heartbeatExpiresAt({ timestamp: 100, freq: 2 })).toBe(104_000);
  });
});

describe("Celery events as a TypeScript worker sends them", () => {
  const identity = {
    swIdent: "worker-toolbox",
    swVer: "0.1.0",
    service: "svc",
    toolboxVersion: "0.1.0",
    tasks: ["svc.ok"],
    concurrency: 4,
  };
  const source = () => new EventSource("capw@host", 22160, () => 1_796_468_766_217.4165);
  const keys = (event: object) => Object.keys(event);

  it("worker events: Celery's fields in Celery's order, the toolbox's before timestamp and type", () => {
    const events = source();
    for (const type of ["worker-online", "worker-heartbeat", "worker-offline"] as const) {
      const event = events.worker(type, { freq: 2, active: 0, processed: 0, ...identity });
      const celeryKeys = keys(CAPTURED[type].event).filter((key) => key !== "timestamp" && key !== "type");
      expect(keys(event)).toEqual([
        ...celeryKeys,
        "wt_service",
        "wt_toolbox_version",
        "wt_tasks",
        "wt_concurrency",
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
      // What the dashboard reads back.
      expect(decodeWorkerEvent(JSON.parse(JSON.stringify(event)))).toMatchObject({
        service: "svc",
        tasks: ["svc.ok"],
      });
    }
  });

  it("task events carry what Celery's worker sends for each, on one Lamport clock", () => {
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
    for (const [type, event] of Object.entries(made))
      expect(keys(event), type).toEqual(keys(CAPTURED[type].event));
    expect(Object.values(made).map((event) => event.clock)).toEqual([1, 2, 3, 4, 5]);
    events.adjust(40);
    expect(events.task("task-started", "id-2", {}).clock).toBe(41);
  });

  it("messages: one event under its type's routing key, task events as a list under task.multi", () => {
    const events = source();
    const heartbeat = eventMessage(
      events.worker("worker-heartbeat", { freq: 2, active: 1, processed: 7, ...identity }),
    );
    const captured = CAPTURED["worker-heartbeat"];
    expect(heartbeat.routingKey).toBe(captured.routing_key);
    expect(heartbeat.properties).toEqual({
      contentType: captured.properties.content_type,
      contentEncoding: captured.properties.content_encoding,
      deliveryMode: captured.properties.delivery_mode,
      headers: captured.headers,
    });
    const batch = [events.task("task-started", "a", {}), events.task("task-started", "b", {})];
    const multi = eventMessage(batch);
    expect(multi.routingKey).toBe(CAPTURED["task-started"].routing_key);
    expect(decodeEventBody(multi.content)).toEqual(batch);
  });

  it("utcoffset is Python's: hours west of UTC", () => {
    const at = new Date("2024-01-15T12:00:00Z");
    expect(utcoffset(at)).toBe(Math.floor(at.getTimezoneOffset() / 60));
  });
});
