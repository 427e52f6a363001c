import { defineTask } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { prepareSend } from "../producer/prepareSend.js";
import {
  childTraceparent,
  formatTraceparent,
  parseTraceparent,
  rootTraceId,
  startTraceparent,
  traceIdOf,
} from "./traceContext.js";

// The example from the W3C Trace Context recommendation, §3.2.
const EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const VALID = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

describe("parseTraceparent", () => {
  it("reads version 00 and round-trips through formatTraceparent", () => {
    const context = parseTraceparent(EXAMPLE);
    expect(context).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      flags: "01",
    });
    expect(formatTraceparent(context!)).toBe(EXAMPLE);
    expect(parseTraceparent(Buffer.from(EXAMPLE))).toEqual(context);
  });

  it("accepts a later version with extra fields, and nothing invalid", () => {
    expect(parseTraceparent(`01${EXAMPLE.slice(2)}-what-comes-next`)?.traceId).toBe(
      "4bf92f3577b34da6a3ce929d0e0e4736",
    );
    for (const bad of [
      undefined,
      42,
      "",
      "00-abc-def-01",
      `${EXAMPLE}-extra`, // version 00 has exactly four fields
      `ff${EXAMPLE.slice(2)}`, // version ff is forbidden
      EXAMPLE.toUpperCase(),
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-01`,
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });
});

describe("childTraceparent", () => {
  it("keeps the trace id and flags and picks a new span id", () => {
    const child = childTraceparent(EXAMPLE);
    expect(child).toMatch(VALID);
    const parsed = parseTraceparent(child)!;
    expect(parsed.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(parsed.flags).toBe("01");
    expect(parsed.spanId).not.toBe("00f067aa0ba902b7");
    expect(childTraceparent(EXAMPLE)).not.toBe(child);
    expect(
      parseTraceparent(childTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"))?.flags,
    ).toBe("00");
  });

  it("starts the root's trace when the parent has none", () => {
    const rootId = "2F1C7E4E-8D9A-4C56-9A53-1D6D3F0F2F10";
    expect(parseTraceparent(childTraceparent(undefined, rootId))?.traceId).toBe(
      "2f1c7e4e8d9a4c569a531d6d3f0f2f10",
    );
    expect(childTraceparent("garbage")).toMatch(VALID);
  });
});

describe("startTraceparent and traceIdOf", () => {
  it("a new trace's id is the root task id; random when the root id is not a UUID", () => {
    const rootId = "2f1c7e4e-8d9a-4c56-9a53-1d6d3f0f2f10";
    expect(startTraceparent(rootId)).toMatch(/^00-2f1c7e4e8d9a4c569a531d6d3f0f2f10-[0-9a-f]{16}-01$/);
    expect(rootTraceId("celery-custom-id")).toBeUndefined();
    expect(rootTraceId("00000000-0000-0000-0000-000000000000")).toBeUndefined();
    const a = startTraceparent("celery-custom-id");
    const b = startTraceparent();
    expect(a).toMatch(VALID);
    expect(parseTraceparent(a)?.traceId).not.toBe(parseTraceparent(b)?.traceId);
  });

  it("a received task's trace id is its header's, else its root id's", () => {
    const rootId = "2f1c7e4e-8d9a-4c56-9a53-1d6d3f0f2f10";
    expect(traceIdOf(EXAMPLE, rootId)).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(traceIdOf(undefined, rootId)).toBe("2f1c7e4e8d9a4c569a531d6d3f0f2f10");
    expect(traceIdOf("00-bad", "not-a-uuid")).toBeUndefined();
  });
});

describe("prepareSend", () => {
  const ping = defineTask({ name: "svc.ping", result: z.null() });
  const target = { exchange: "test.tasks", maxBytes: 10_000 };

  it("starts a trace named after the root task when the caller passes none, and keeps a given one", () => {
    const fresh = prepareSend(ping, [], undefined, {}, target);
    expect(parseTraceparent(fresh.request.properties.headers.traceparent)?.traceId).toBe(
      fresh.receipt.rootId.replaceAll("-", ""),
    );
    const child = prepareSend(
      ping,
      [],
      undefined,
      { parent: { id: fresh.receipt.id, rootId: fresh.receipt.rootId } },
      target,
    );
    expect(parseTraceparent(child.request.properties.headers.traceparent)?.traceId).toBe(
      fresh.receipt.rootId.replaceAll("-", ""),
    );
    const given = prepareSend(ping, [], undefined, { traceparent: EXAMPLE }, target);
    expect(given.request.properties.headers.traceparent).toBe(EXAMPLE);
  });
});
