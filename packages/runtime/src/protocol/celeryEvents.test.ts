import { describe, expect, it } from "vitest";
import {
  decodeEventBody,
  decodeWorkerEvent,
  encodeWorkerEvent,
  eventRoutingKey,
  heartbeatExpiresAt,
  type WorkerEvent,
} from "./celeryEvents.js";

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
