import { describe, expect, it } from "vitest";
import { describeDeadLetter } from "../ops/deadLetterInfo.js";
import { replayHeaders } from "../ops/replayMessage.js";
import { throughAmqp } from "./amqpHeaders.testUtil.js";
import {
  type DeadLetterReason,
  H,
  isHopHeader,
  readDeadLetterStamp,
  resendHeaders,
  stampDeadLetter,
  trackingMetadata,
} from "./envelope.js";

const AT = new Date("2026-03-01T11:58:30.000Z");

describe("the dead-letter stamp", () => {
  it("reads back, after the AMQP round trip, exactly what was written", () => {
    const error = new TypeError("downstream timed out\nafter 30 s");
    const reasons: DeadLetterReason[] = [
      "malformed",
      "too-large",
      "retries-exhausted",
      "unstorable-tracking",
    ];
    for (const reason of reasons) {
      const headers = throughAmqp(
        stampDeadLetter(
          { id: "id-1", task: "export.project", [H.tracking]: { requestedBy: "u:1" } },
          { reason, error, attempts: 3 },
          { exchange: "prod.tasks", routingKey: "export.project", by: "export@host:1", at: AT },
        ),
      );
      expect(readDeadLetterStamp(headers)).toEqual({
        reason,
        errorClass: "TypeError",
        errorMessage: "downstream timed out\nafter 30 s",
        errorStack: error.stack,
        attempts: 3,
        originalExchange: "prod.tasks",
        originalRoutingKey: "export.project",
        deadLetteredAt: AT.toISOString(),
        deadLetteredBy: "export@host:1",
      });
      // The message's own headers stay beside the stamp.
      expect(headers).toMatchObject({ id: "id-1", [H.tracking]: { requestedBy: "u:1" } });
      expect(describeDeadLetter({ properties: { headers } }, AT.getTime() + 1_000)).toMatchObject({
        origin: "worker",
        reason,
        attempts: 3,
        originalRoutingKey: "export.project",
        ageMs: 1_000,
      });
    }
  });

  it("keeps the default exchange's empty name and cuts long texts", () => {
    const error = new Error("x".repeat(5_000));
    const headers = stampDeadLetter(
      undefined,
      { reason: "malformed", error, attempts: 0 },
      {
        exchange: "",
        routingKey: "prod.platform",
        by: "tracker",
      },
    );
    const stamp = readDeadLetterStamp(throughAmqp(headers));
    expect(stamp?.originalExchange).toBe("");
    expect(stamp?.errorMessage).toHaveLength(2_000);
  });

  it("is absent from a message nobody stamped", () => {
    expect(readDeadLetterStamp({ "x-death": [{ reason: "rejected" }] })).toBeUndefined();
    expect(readDeadLetterStamp(undefined)).toBeUndefined();
  });
});

describe("the strip list", () => {
  const hop = [
    H.reason,
    H.errorClass,
    H.errorMessage,
    H.errorStack,
    H.attempts,
    H.originalExchange,
    H.originalRoutingKey,
    H.deadLetteredAt,
    H.deadLetteredBy,
    H.death,
    "x-first-death-reason",
    "x-last-death-queue",
    H.deliveryCount,
    H.acquiredCount,
    H.delay,
    H.timestampInMs,
  ];
  const kept = [H.tracking, H.traceparent, H.tracestate, "requested_by", "x-custom", "id", "retries"];

  it.each(hop)("drops %s on a resend", (name) => expect(isHopHeader(name)).toBe(true));
  it.each(kept)("keeps %s on a resend", (name) => expect(isHopHeader(name)).toBe(false));

  it("retries, delayed etas and replays keep the tracking metadata and the trace context", () => {
    const headers = {
      task: "export.project",
      retries: 2,
      [H.tracking]: { requestedBy: "user:42" },
      [H.traceparent]: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      ...Object.fromEntries(hop.map((name) => [name, "x"])),
    };
    const expected = {
      task: "export.project",
      [H.tracking]: { requestedBy: "user:42" },
      [H.traceparent]: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };
    expect(resendHeaders(headers)).toEqual({ ...expected, retries: 2 });
    expect(replayHeaders(headers)).toEqual({ ...expected, retries: 0 });
  });
});

describe("tracking metadata", () => {
  it("merges the producer's object over plain headers and leaves bookkeeping out", () => {
    expect(
      trackingMetadata({
        plain: "py",
        requestedBy: "header",
        [H.tracking]: { requestedBy: "user:7" },
        [H.traceparent]: "00-abc-def-01",
        [H.death]: [],
        "x-custom": 1,
      }),
    ).toEqual({ plain: "py", requestedBy: "user:7" });
  });
});
