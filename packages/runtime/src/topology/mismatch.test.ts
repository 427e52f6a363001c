import { describe, expect, it } from "vitest";
import { describeMismatch, parseInequivalentArg } from "./mismatch.js";

// Reply texts as RabbitMQ 3.10 sends them (captured from the dev broker).
const reply = (detail: string) =>
  `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - ${detail}"`;

describe("parseInequivalentArg", () => {
  it("reads the argument, the planned and the current value", () => {
    const message = reply(
      "inequivalent arg 'x-queue-type' for queue 'staging.export' in vhost '/': received 'quorum' but current is 'classic'",
    );
    expect(parseInequivalentArg(message)).toEqual({
      entity: "queue",
      name: "staging.export",
      problem: "different-argument",
      argument: "x-queue-type",
      expected: "quorum",
      actual: "classic",
    });
  });

  it("types values like the plan and reads `none` as absent", () => {
    const ttl = reply(
      "inequivalent arg 'x-message-ttl' for queue 'p.delay.5s' in vhost '/': received the value '5000' of type 'long' but current is none",
    );
    expect(parseInequivalentArg(ttl, { "x-message-ttl": 5000 })).toMatchObject({
      expected: 5000,
      actual: null,
    });
    const limit = reply(
      "inequivalent arg 'x-delivery-limit' for queue 'p.export' in vhost 'tasks': received '10' but current is '5'",
    );
    expect(parseInequivalentArg(limit, { "x-delivery-limit": 10 })).toMatchObject({
      expected: 10,
      actual: 5,
    });
    const extra = reply(
      "inequivalent arg 'x-dead-letter-exchange' for queue 'p.export' in vhost '/': received none but current is the value 'other' of type 'longstr'",
    );
    expect(parseInequivalentArg(extra, {})).toMatchObject({ expected: null, actual: "other" });
  });

  it("calls a different exchange type wrong-type", () => {
    const message =
      "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'p.tasks' in vhost '/': received 'topic' but current is 'direct'";
    expect(parseInequivalentArg(message)).toMatchObject({
      entity: "exchange",
      problem: "wrong-type",
      expected: "topic",
      actual: "direct",
    });
  });

  it("returns undefined for other errors", () => {
    expect(parseInequivalentArg("NOT_FOUND - no queue 'x' in vhost '/'")).toBeUndefined();
  });
});

describe("describeMismatch", () => {
  it("names the entity, the argument, both values and the fix", () => {
    expect(
      describeMismatch({
        entity: "queue",
        name: "staging.export",
        problem: "different-argument",
        argument: "x-queue-type",
        expected: "quorum",
        actual: "classic",
      }),
    ).toBe(
      "queue staging.export: argument x-queue-type is 'classic' on the broker but the plan says 'quorum' — " +
        "delete and re-create the queue after draining it, or set WT_QUEUE_TYPE=classic",
    );
    expect(
      describeMismatch({
        entity: "binding",
        name: "staging.tasks -> staging.platform [#]",
        problem: "missing",
      }),
    ).toMatch(/^binding staging.tasks -> staging.platform \[#\] is missing .*topology apply/);
  });

  it("offers the setting that keeps a quorum queue created before its dead-letter strategy or replicas were planned", () => {
    const queue = { entity: "queue", name: "staging.export", problem: "different-argument" } as const;
    expect(
      describeMismatch({
        ...queue,
        argument: "x-dead-letter-strategy",
        expected: "at-least-once",
        actual: null,
      }),
    ).toBe(
      "queue staging.export: argument x-dead-letter-strategy is absent on the broker but the plan says " +
        "'at-least-once' — delete and re-create the queue after draining it, or set " +
        "WT_QUEUE_DEAD_LETTER_STRATEGY=at-most-once",
    );
    expect(
      describeMismatch({ ...queue, argument: "x-quorum-initial-group-size", expected: 5, actual: 3 }),
    ).toMatch(/, or set WT_QUEUE_REPLICAS=3$/);
    expect(
      describeMismatch({ ...queue, argument: "x-quorum-initial-group-size", expected: 3, actual: null }),
    ).toMatch(/, or unset WT_QUEUE_REPLICAS$/);
  });
});
