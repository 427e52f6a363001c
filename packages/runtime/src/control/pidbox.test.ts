import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { queueInfo, requestInfo, workerStats } from "./inspectReplies.js";
import {
  controlReply,
  decodeControlRequest,
  encodeControlRequest,
  isForNode,
  pidboxNames,
} from "./pidbox.js";

/** Captured from Celery 5.2.6: test/fixtures/celery/README.md. */
// biome-ignore lint/suspicious/noExplicitAny: captured JSON, read loosely.
const CAPTURED_PIDBOX: Record<string, any> = JSON.parse(
  readFileSync(new URL("../../../../test/fixtures/celery/pidbox.json", import.meta.url), "utf8"),
);

const content = (body: unknown) => Buffer.from(JSON.stringify(body));

describe("pidbox requests", () => {
  it("decodes every request Celery's app.control published", () => {
    for (const [method, captured] of Object.entries(CAPTURED_PIDBOX)) {
      const request = decodeControlRequest(content(captured.body), captured.headers);
      expect(request, method).toMatchObject({
        method,
        arguments: captured.body.arguments,
        destination: null,
        ticket: captured.body.ticket,
        replyTo: { exchange: "reply.cap.celery.pidbox", routingKey: captured.body.reply_to.routing_key },
        expires: captured.headers.expires,
        clock: captured.headers.clock,
      });
    }
    expect(decodeControlRequest(Buffer.from("not json"), {})).toBeUndefined();
    expect(decodeControlRequest(content({ arguments: {} }), {})).toBeUndefined();
  });

  it("names the exchanges and queue as Celery's mailbox does", () => {
    const names = pidboxNames("cap.celery");
    expect(names.exchange).toBe("cap.celery.pidbox");
    expect(names.replyExchange).toBe(CAPTURED_PIDBOX.ping.body.reply_to.exchange);
    expect(names.queue("svc-1@host")).toBe("svc-1@host.cap.celery.pidbox");
  });

  it("a node handles requests for everyone, for it by name or pattern, and never stale ones", () => {
    const request = decodeControlRequest(content(CAPTURED_PIDBOX.ping.body), { clock: 1, expires: 1_000 })!;
    expect(isForNode(request, "a@h", 999_000)).toBe(true);
    expect(isForNode(request, "a@h", 1_001_000)).toBe(false);
    const named = { ...request, expires: null, destination: ["a@h"] };
    expect([isForNode(named, "a@h"), isForNode(named, "b@h")]).toEqual([true, false]);
    const glob = { ...request, expires: null, pattern: "svc-*@h", matcher: "glob" };
    expect([isForNode(glob, "svc-1@h"), isForNode(glob, "other@h")]).toEqual([true, false]);
    const pcre = { ...glob, pattern: "svc-\\d", matcher: "pcre" };
    expect([isForNode(pcre, "svc-1@h"), isForNode(pcre, "xsvc-1@h")]).toEqual([true, false]);
  });

  it("round-trips what a TypeScript caller sends", () => {
    const sent = encodeControlRequest(
      "revoke",
      { task_id: ["a"], terminate: true, signal: "SIGTERM" },
      {
        reply: { ticket: "t", exchange: "reply.cap.celery.pidbox", routingKey: "me" },
        clock: 3,
        timeoutS: 1,
        nowMs: 10_000,
      },
    );
    expect(decodeControlRequest(sent.content, sent.headers)).toEqual({
      method: "revoke",
      arguments: { task_id: ["a"], terminate: true, signal: "SIGTERM" },
      destination: null,
      pattern: null,
      matcher: null,
      ticket: "t",
      replyTo: { exchange: "reply.cap.celery.pidbox", routingKey: "me" },
      expires: 11,
      clock: 3,
    });
  });
});

describe("pidbox replies", () => {
  it("answer to the sender's reply queue with its ticket, keyed by node name", () => {
    const request = decodeControlRequest(content(CAPTURED_PIDBOX.ping.body), CAPTURED_PIDBOX.ping.headers)!;
    const reply = controlReply(request, "svc-1@host", { ok: "pong" }, 7)!;
    expect(reply.exchange).toBe("reply.cap.celery.pidbox");
    expect(reply.routingKey).toBe(CAPTURED_PIDBOX.ping.body.reply_to.routing_key);
    expect(reply.properties.headers).toEqual({ ticket: CAPTURED_PIDBOX.ping.body.ticket, clock: 7 });
    expect(JSON.parse(reply.content.toString())).toEqual({ "svc-1@host": { ok: "pong" } });
    // A cast (no reply_to) gets no reply.
    expect(controlReply({ ...request, replyTo: null }, "svc-1@host", {}, 7)).toBeUndefined();
  });

  it("inspect replies have the fields of a Python worker's (captured)", () => {
    const held = {
      id: "d5b0",
      name: "svc.slow",
      args: [5],
      kwargs: {},
      startedAt: 1_796_468_832_789.7,
      exchange: "cap.tasks",
      routingKey: "svc.slow",
      priority: 0,
      redelivered: false,
    };
    const celeryActive = {
      id: "d5b0",
      name: "svc.slow",
      args: [5],
      kwargs: {},
      type: "svc.slow",
      hostname: "capw@host",
      time_start: 1796468832.7897,
      acknowledged: false,
      delivery_info: { exchange: "cap.tasks", routing_key: "svc.slow", priority: 0, redelivered: false },
      worker_pid: 23658,
    };
    expect(requestInfo(held, "capw@host", 23658)).toEqual(celeryActive);
    expect(requestInfo({ ...held, startedAt: undefined }, "capw@host", 23658)).toMatchObject({
      time_start: null,
      worker_pid: null,
    });
    const queue = queueInfo({
      name: "cap.svc",
      exchange: "cap.tasks",
      routingKey: "svc.#",
      arguments: { "x-queue-type": "quorum" },
    });
    expect(Object.keys(queue)).toEqual([
      "name",
      "exchange",
      "routing_key",
      "queue_arguments",
      "binding_arguments",
      "consumer_arguments",
      "durable",
      "exclusive",
      "auto_delete",
      "no_ack",
      "alias",
      "bindings",
      "no_declare",
      "expires",
      "message_ttl",
      "max_length",
      "max_length_bytes",
      "max_priority",
    ]);
    const stats = workerStats({
      total: { "svc.ok": 2 },
      pid: 1,
      clock: 13,
      uptimeS: 11.5,
      concurrency: 4,
      prefetch: 8,
      broker: { url: "amqp://worker:secret@rabbit:5673/tasks", heartbeatS: 60, connectTimeoutMs: 4_000 },
    });
    expect(stats).toMatchObject({
      total: { "svc.ok": 2 },
      clock: "13",
      uptime: 11,
      pool: { "max-concurrency": 4 },
      broker: { hostname: "rabbit", userid: "worker", virtual_host: "tasks", port: 5673, connect_timeout: 4 },
      prefetch_count: 8,
    });
    expect(JSON.stringify(stats)).not.toContain("secret");
    expect(Object.keys(stats.rusage)).toHaveLength(16);
  });
});
