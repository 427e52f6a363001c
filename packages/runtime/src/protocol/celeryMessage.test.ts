import { hostname } from "node:os";
import { isToolboxError } from "@worker-toolbox/config";
import type { MessageProperties, Options } from "amqplib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { throughAmqp } from "./amqpHeaders.testUtil.js";
import { CELERY_HEADERS, newTaskMessage, retryMessage, type TaskMessage } from "./celeryMessage.js";
import { decodeTaskMessage, type IncomingProperties } from "./decodeTaskMessage.js";
import { encodeTaskMessage } from "./encodeTaskMessage.js";
import { taskMessage as messageArb } from "./testArbitraries.js";

// Captured from Celery 5.6.3 (research/anchors-mission.md §3.4): apply_async(('org','proj'),
// {'output_type':'xls'}, countdown=10, expires=60, priority=5, time_limit=300, soft_time_limit=200).
const ID = "7d3c1f0e-2b4a-4c8e-9f61-5a2b3c4d5e6f";
const captured = {
  content: Buffer.from(
    '[["org", "proj"], {"output_type": "xls"}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
  ),
  properties: {
    contentType: "application/json",
    contentEncoding: "utf-8",
    correlationId: ID,
    replyTo: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    deliveryMode: 2,
    expiration: "60000",
    priority: 5,
    headers: {
      lang: "py",
      task: "export.project",
      id: ID,
      shadow: null,
      eta: "2026-01-15T03:03:41.415080+00:00",
      expires: "2026-01-15T03:04:31.415080+00:00",
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [300, 200],
      root_id: ID,
      parent_id: null,
      argsrepr: "('org', 'proj')",
      kwargsrepr: "{'output_type': 'xls'}",
      origin: "gen4242@builder",
      ignore_result: false,
      replaced_task_nesting: 0,
      stamped_headers: null,
      stamps: {},
    },
  },
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isToolboxError(error)
      ? error.code
      : `not a ToolboxError: ${error instanceof Error ? error.stack : String(error)}`;
  }
  return undefined;
}

describe("the captured Celery 5.6 message", () => {
  it("decodes to the right fields", () => {
    const msg = decodeTaskMessage(captured.content, {
      ...captured.properties,
      headers: throughAmqp(captured.properties.headers),
    });
    expect(msg).toEqual({
      id: ID,
      task: "export.project",
      args: ["org", "proj"],
      kwargs: { output_type: "xls" },
      retries: 0,
      eta: new Date("2026-01-15T03:03:41.415Z"),
      expires: new Date("2026-01-15T03:04:31.415Z"),
      rootId: ID,
      parentId: null,
      group: null,
      groupIndex: null,
      timeLimit: { hard: 300, soft: 200 },
      shadow: null,
      origin: "gen4242@builder",
      ignoreResult: false,
      priority: 5,
      embed: { callbacks: null, errbacks: null, chain: null, chord: null },
      extraHeaders: {},
    } satisfies TaskMessage);
  });

  it("is what we encode for the same call: same header names, order and values, same body bytes", () => {
    const now = new Date("2026-01-15T03:03:31.415Z");
    const msg = newTaskMessage({
      task: "export.project",
      args: ["org", "proj"],
      kwargs: { output_type: "xls" },
      countdownMs: 10_000,
      expires: 60_000,
      priority: 5,
      timeLimit: { hard: 300, soft: 200 },
      now,
    });
    const { content, properties } = encodeTaskMessage(msg, { now });
    expect(content.equals(captured.content)).toBe(true);
    const { replyTo: _replyTo, headers: capturedHeaders, ...capturedProps } = captured.properties;
    expect({ ...properties, headers: undefined }).toEqual({
      ...capturedProps,
      correlationId: msg.id,
      headers: undefined,
    });
    expect(Object.keys(properties.headers)).toEqual(Object.keys(capturedHeaders));
    const differ = ["id", "root_id", "origin", "eta", "expires"];
    const strip = (h: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(h).filter(([k]) => !differ.includes(k)));
    expect(strip(properties.headers)).toEqual(strip(capturedHeaders));
    expect(properties.headers).toMatchObject({
      id: msg.id,
      root_id: msg.id,
      eta: "2026-01-15T03:03:41.415000+00:00",
    });
    expect(properties.headers.origin).toBe(`${process.pid}@${hostname()}`);
  });
});

/** encode → amqplib header codec → decode, as a message crosses the broker. */
function roundTrip(msg: TaskMessage): TaskMessage {
  const { content, properties } = encodeTaskMessage(msg);
  return decodeTaskMessage(Buffer.from(content), { ...properties, headers: throughAmqp(properties.headers) });
}

describe("encode → decode", () => {
  it("gives back the message for arbitrary messages", () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        expect(roundTrip(msg)).toEqual(msg);
      }),
      { numRuns: 200 },
    );
  }, 60_000);

  it("retryMessage keeps the id and arguments, bumps retries and sets eta", () => {
    const msg = newTaskMessage({ task: "export.project", args: [1], parent: { id: "p", rootId: "r" } });
    const eta = new Date("2030-01-01T00:00:00Z");
    const retried = retryMessage(retryMessage(msg, { eta }), { eta });
    expect(roundTrip(retried)).toEqual({ ...msg, retries: 2, eta });
    expect(retried).toMatchObject({ id: msg.id, parentId: "p", rootId: "r" });
  });
});

describe("newTaskMessage", () => {
  it("fills Celery's defaults", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const msg = newTaskMessage({ task: "a.b", expires: new Date("2026-01-02T00:00:00Z"), now });
    expect(msg.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(msg).toMatchObject({
      rootId: msg.id,
      parentId: null,
      retries: 0,
      eta: null,
      priority: 0,
      args: [],
      kwargs: {},
    });
    expect(msg.origin).toMatch(new RegExp(`^${process.pid}@.+`));
    expect(codeOf(() => newTaskMessage({ task: "a.b", countdownMs: 1, eta: now }))).toBe("MESSAGE_INVALID");
  });
});

describe("encodeTaskMessage rejects", () => {
  const base = newTaskMessage({ task: "export.project", id: ID });
  const now = new Date("2026-01-01T00:00:00Z");

  it("writes expiration as whole ms left, clamped at 0", () => {
    expect(
      encodeTaskMessage({ ...base, expires: new Date(now.getTime() + 1500.9) }, { now }).properties
        .expiration,
    ).toBe("1500");
    expect(
      encodeTaskMessage({ ...base, expires: new Date(now.getTime() - 5000) }, { now }).properties.expiration,
    ).toBe("0");
    expect(encodeTaskMessage(base, { now }).properties).not.toHaveProperty("expiration");
  });

  it("a body over maxBytes with MESSAGE_TOO_LARGE naming both sizes", () => {
    const big = { ...base, args: ["x".repeat(1000)] };
    const size = encodeTaskMessage(big).content.length;
    expect(() => encodeTaskMessage(big, { maxBytes: size - 1 })).toThrow(
      `is ${size} bytes; the limit is ${size - 1} bytes`,
    );
    expect(codeOf(() => encodeTaskMessage(big, { maxBytes: size - 1 }))).toBe("MESSAGE_TOO_LARGE");
    expect(codeOf(() => encodeTaskMessage(big, { maxBytes: size }))).toBeUndefined();
  });

  it("values JSON cannot carry, naming the path", () => {
    const msg = { ...base, args: [1, { when: () => 0 }] };
    expect(codeOf(() => encodeTaskMessage(msg))).toBe("MESSAGE_NOT_SERIALIZABLE");
    expect(() => encodeTaskMessage(msg)).toThrow("args[1].when");
  });

  it.each<[string, Partial<TaskMessage>]>([
    ["extraHeaders.task", { extraHeaders: { task: "other" } }],
    ["extraHeaders.x", { extraHeaders: { x: new Date() } }],
    ["priority", { priority: 256 }],
    ["priority", { priority: 1.5 }],
    ["retries", { retries: -1 }],
    ["groupIndex", { groupIndex: -2 }],
    ["timeLimit.soft", { timeLimit: { hard: 1, soft: -1 } }],
    ["timeLimit.hard", { timeLimit: { hard: 1e300, soft: null } }],
    ["extraHeaders.big", { extraHeaders: { big: 2 ** 60 } }],
    ["extraHeaders.__proto__", { extraHeaders: JSON.parse('{"__proto__": 1}') }],
    ["extraHeaders.x", { extraHeaders: { x: [-(2 ** 51) - 0.5] } }],
    ["eta", { eta: new Date(Number.NaN) }],
    ["id", { id: "" }],
    ["kwargs", { kwargs: [] as unknown as Record<string, unknown> }],
  ])("%s with MESSAGE_INVALID", (field, patch) => {
    expect(codeOf(() => encodeTaskMessage({ ...base, ...patch }))).toBe("MESSAGE_INVALID");
    expect(() => encodeTaskMessage({ ...base, ...patch })).toThrow(field);
  });
});

describe("decodeTaskMessage rejects with MESSAGE_MALFORMED", () => {
  const good = encodeTaskMessage(newTaskMessage({ task: "export.project", id: ID, args: [1] }));
  const body = (text: string) => Buffer.from(text);
  const withHeaders = (patch: Record<string, unknown>): IncomingProperties => ({
    ...good.properties,
    headers: { ...good.properties.headers, ...patch },
  });

  it.each<[string, Buffer, IncomingProperties, string]>([
    ["no headers", good.content, { contentType: "application/json" }, "task header is missing"],
    ["a v1 message", body('{"task": "a.b", "id": "1", "args": []}'), {}, "protocol v1"],
    ["a non-string id", good.content, withHeaders({ id: 7 }), "header id"],
    [
      "pickle",
      good.content,
      { ...good.properties, contentType: "application/x-python-serialize" },
      "content type",
    ],
    ["latin-1", good.content, { ...good.properties, contentEncoding: "latin-1" }, "content encoding"],
    ["compression", good.content, withHeaders({ compression: "application/x-gzip" }), "compressed"],
    ["invalid UTF-8", Buffer.from([0x5b, 0xff, 0x5d]), good.properties, "UTF-8"],
    ["not JSON", body("[[], {}"), good.properties, "not Kombu JSON"],
    ["a 2-element body", body("[[], {}]"), good.properties, "[args, kwargs, embed]"],
    ["args as a dict", body("[{}, {}, null]"), good.properties, "body[0] (args)"],
    ["kwargs as a list", body("[[], [], null]"), good.properties, "body[1] (kwargs)"],
    ["embed as a string", body('[[], {}, "x"]'), good.properties, "body[2] (embed)"],
    ["callbacks as a string", body('[[], {}, {"callbacks": "x"}]'), good.properties, "body[2].callbacks"],
    ["negative retries", good.content, withHeaders({ retries: -1 }), "header retries"],
    ["fractional retries", good.content, withHeaders({ retries: 1.5 }), "header retries"],
    ["a bad eta", good.content, withHeaders({ eta: "tomorrow" }), "header eta"],
    ["a bad expires", good.content, withHeaders({ expires: 12 }), "header expires"],
    ["a 1-element timelimit", good.content, withHeaders({ timelimit: [1] }), "header timelimit"],
    ["a string ignore_result", good.content, withHeaders({ ignore_result: "yes" }), "header ignore_result"],
    ["a negative group_index", good.content, withHeaders({ group_index: -1 }), "header group_index"],
    ["priority 300", good.content, { ...good.properties, priority: 300 }, "priority"],
    [
      "an unknown marker",
      body('[[{"__type__": "pickle", "__value__": ""}], {}, null]'),
      good.properties,
      "body[0][0]",
    ],
  ])("%s", (_, content, properties, reason) => {
    expect(codeOf(() => decodeTaskMessage(content, properties))).toBe("MESSAGE_MALFORMED");
    expect(() => decodeTaskMessage(content, properties)).toThrow(reason);
  });

  it("accepts what Celery accepts: no content type, missing optional headers, null embed", () => {
    const msg = decodeTaskMessage(body("[[1], {}, null]"), { headers: { task: "a.b", id: "x" } });
    expect(msg).toMatchObject({
      id: "x",
      rootId: "x",
      retries: 0,
      priority: 0,
      origin: "",
      timeLimit: { hard: null, soft: null },
    });
    expect(msg.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
  });

  it("random bytes as the body", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(codeOf(() => decodeTaskMessage(Buffer.from(bytes), good.properties))).toBe(
          "MESSAGE_MALFORMED",
        );
      }),
    );
  }, 60_000);

  it("arbitrary headers, properties and bodies: decoded or MESSAGE_MALFORMED, never another error", () => {
    const known = fc.constantFrom(...CELERY_HEADERS, "task", "id", "x");
    fc.assert(
      fc.property(
        fc.dictionary(known, fc.anything(), { maxKeys: 6 }),
        fc.oneof(
          fc.anything().map((v) => JSON.stringify(v) ?? ""),
          fc.constant("[[], {}, null]"),
        ),
        fc.record({ contentType: fc.option(fc.string()), priority: fc.anything() }, { requiredKeys: [] }),
        (headers, text, props) => {
          const code = codeOf(() =>
            decodeTaskMessage(Buffer.from(text), { ...props, headers } as IncomingProperties),
          );
          expect([undefined, "MESSAGE_MALFORMED"]).toContain(code);
        },
      ),
      { numRuns: 500 },
    );
  }, 60_000);
});

describe("amqplib compatibility (types)", () => {
  it("PublishProperties is an amqplib Options.Publish and MessageProperties is IncomingProperties", () => {
    const published: Options.Publish = encodeTaskMessage(newTaskMessage({ task: "a.b" })).properties;
    const received: MessageProperties = { ...published, headers: published.headers } as MessageProperties;
    const incoming: IncomingProperties = received;
    expect(incoming.contentType).toBe("application/json");
  });
});
