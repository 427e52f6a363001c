import { randomUUID } from "node:crypto";
import { defineTask, entityNames } from "@worker-toolbox/config";
import { closeConnectionsNamed, createTestNamespace, deleteNamespace } from "@worker-toolbox/testing";
import amqp from "amqplib";
import { pino } from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  createProducer,
  type Producer,
  type ProducerState,
  type TaskCall,
} from "../../packages/runtime/src/producer/index.js";
import { decodeTaskMessage } from "../../packages/runtime/src/protocol/index.js";
import { testServers } from "../support/servers.js";
import { anyPayload, contracts, drainTaskIds, messageCount, placeOrder, producerConfig } from "./support.js";

const { amqpUrl, managementUrl } = testServers();
const notThisProducers = defineTask({ name: "orders.refund", args: z.tuple([]), result: z.null() });
const logger = pino({ level: "silent" });
const prefixes: string[] = [];
const producers: Producer[] = [];

function setup(options: { url?: string; name?: string; config?: Parameters<typeof producerConfig>[2] } = {}) {
  const prefix = createTestNamespace("producer");
  prefixes.push(prefix);
  const config = producerConfig(options.url ?? amqpUrl, prefix, options.config);
  const producer = createProducer({
    config,
    contracts,
    logger,
    ...(options.name ? { name: options.name } : {}),
  });
  producers.push(producer);
  const names = entityNames(prefix);
  return {
    producer,
    prefix,
    names,
    serviceQueue: names.serviceQueue("orders"),
    platformQueue: names.platformQueue,
  };
}

/** White-box: the producer's publisher, for what its backlog holds at a given moment. */
function publisherOf(producer: Producer): { queued: number } {
  return (producer as unknown as { publisher: { queued: number } }).publisher;
}

/** Every send resolved (else the first reasons, one line each), and every message is in the queue. */
async function expectAllSent(outcomes: readonly PromiseSettledResult<unknown>[], queue: string) {
  const reasons = outcomes.flatMap((outcome) =>
    outcome.status === "rejected" ? [(outcome.reason as Error).message.split("\n")[0]] : [],
  );
  expect(reasons.slice(0, 3), `${reasons.length} of ${outcomes.length} rejected`).toEqual([]);
  expect(await messageCount(amqpUrl, queue)).toBe(outcomes.length);
}

afterEach(async () => {
  await Promise.all(producers.splice(0).map((producer) => producer.close()));
});

afterAll(async () => {
  if (!managementUrl) return;
  for (const prefix of prefixes) await deleteNamespace(managementUrl, prefix);
});

describe("producer", () => {
  it("resolves once confirmed; the Celery message is in the service and platform queues with every option", async () => {
    const { producer, names, serviceQueue, platformQueue } = setup();
    await producer.ready();
    expect(producer.available).toBe(true);
    const parent = { id: randomUUID(), rootId: randomUUID() };
    const receipt = await producer.send(
      placeOrder,
      [7],
      { note: "rush" },
      {
        countdownMs: 30_000,
        expires: 3_600_000,
        priority: 3,
        tracking: { requestedBy: "user:42" },
        parent,
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
    );
    expect(receipt).toMatchObject({ name: "orders.place", rootId: parent.rootId });

    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    const got = await channel.get(serviceQueue, { noAck: true });
    await connection.close();
    expect(got).not.toBe(false);
    if (!got) return;
    expect(got.fields).toMatchObject({
      routingKey: "orders.place",
      exchange: names.exchange,
    });
    const message = decodeTaskMessage(got.content, { ...got.properties });
    expect(message).toMatchObject({
      id: receipt.id,
      task: "orders.place",
      args: [7],
      kwargs: { note: "rush" },
      parentId: parent.id,
      rootId: parent.rootId,
      priority: 3,
    });
    expect(message.eta!.getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(message.expires!.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expect(got.properties.headers?.["x-wt-tracking"]).toEqual({ requestedBy: "user:42" });
    expect(got.properties.headers?.traceparent).toBe(
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    );
    expect(got.properties.deliveryMode).toBe(2);
    // The platform queue holds a copy of every task.
    expect(await drainTaskIds(amqpUrl, platformQueue)).toEqual([receipt.id]);
  });

  it("sendByName sends tasks it has a contract for and refuses the rest", async () => {
    const { producer, serviceQueue } = setup();
    await producer.ready();
    const receipt = await producer.sendByName("orders.place", [1]);
    await expect(producer.sendByName("orders.refund", [1])).rejects.toMatchObject({ code: "TASK_UNKNOWN" });
    expect(await drainTaskIds(amqpUrl, serviceQueue)).toEqual([receipt.id]);
  });

  it("sendMany paces a large batch on the socket, keeps call order, and fails a bad call alone", async () => {
    const { producer, serviceQueue } = setup();
    await producer.ready();
    await expect(producer.sendMany(notThisProducers, [{ args: [] }])).rejects.toMatchObject({
      code: "TASK_UNKNOWN",
    });
    // A plain loop of send() calls encodes every call before the event loop turns; sendMany pulls calls
    // only while the socket has room, so some are pulled after the loop turned (once writes drained).
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    let pulledLater = 0;
    function* calls(): Generator<TaskCall<typeof placeOrder>> {
      for (let i = 0; i < 5_000; i++) {
        if (turned) pulledLater++;
        yield { args: [i === 2_500 ? -1 : i] };
      }
    }
    const outcomes = await producer.sendMany(placeOrder, calls());
    expect(pulledLater).toBeGreaterThan(0);
    expect(outcomes).toHaveLength(5_000);
    const rejected = outcomes.flatMap((outcome, i) =>
      outcome.status === "rejected" ? [[i, (outcome.reason as { code: string }).code]] : [],
    );
    expect(rejected).toEqual([[2_500, "TASK_ARGS_INVALID"]]);
    const sent = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.id] : []));
    expect(await drainTaskIds(amqpUrl, serviceQueue)).toEqual(sent);
  });

  it("sendMany right after createProducer waits for the first connection, as send() does", async () => {
    const { producer, serviceQueue } = setup();
    // No ready(): the first connection is still being set up when the batch arrives.
    const calls = Array.from({ length: 5_000 }, (_, i) => ({ args: [i] as [number] }));
    const outcomes = await producer.sendMany(placeOrder, calls);
    await expectAllSent(outcomes, serviceQueue);
  });

  it("a loop of 5,000 send() right after createProducer: every one waits for the first connection", async () => {
    const { producer, serviceQueue } = setup();
    // The loop encodes every call before the event loop turns, holding up the connection it waits for.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5_000 }, (_, i) => producer.send(placeOrder, [i])),
    );
    await expectAllSent(outcomes, serviceQueue);
  });

  it("a send() loop past producer.maxQueuedBytes: the overflow rejects PUBLISH_BUFFER_FULL at once and never arrives", async () => {
    const limit = 2 * 1024 * 1024;
    const { producer, serviceQueue } = setup({ config: { producer: { maxQueuedBytes: limit } } });
    await producer.ready();
    // ~24 MB sent in one synchronous loop: the socket takes a little, the backlog up to 2 MiB, the rest has no room.
    const payload = "x".repeat(20_000);
    const ids = Array.from({ length: 1_200 }, () => randomUUID());
    const sends = ids.map((id) => producer.send(anyPayload, [payload], undefined, { id }));
    // White-box: the loop ran synchronously, so the backlog holds what it accepted, within its bound.
    const { queued } = publisherOf(producer);
    expect(queued).toBeGreaterThan(0);
    expect(queued * payload.length).toBeLessThanOrEqual(limit);
    const outcomes = await Promise.allSettled(sends);
    const full = outcomes.flatMap((outcome, i) =>
      outcome.status === "rejected" && (outcome.reason as { code?: string }).code === "PUBLISH_BUFFER_FULL"
        ? [ids[i]!]
        : [],
    );
    const sent = outcomes.flatMap((outcome, i) => (outcome.status === "fulfilled" ? [ids[i]!] : []));
    expect(full.length + sent.length).toBe(ids.length);
    // amqplib takes ~1,024 publishes before it pushes back; then the backlog fills its 2 MiB (~100 of these).
    expect(sent.length).toBeGreaterThan(0);
    expect(full.length).toBeGreaterThan(0);
    const reason = (outcomes[ids.indexOf(full[0]!)] as PromiseRejectedResult).reason as Error;
    expect(reason.message).toMatch(/the limit is 2\.0 MiB; it was not published/);
    // The overflow rejected before anything waited on it; once the backlog drains, sends have room again.
    await expect(producer.send(anyPayload, [payload])).resolves.toMatchObject({ name: anyPayload.name });
    const arrived = await drainTaskIds(amqpUrl, serviceQueue);
    expect(arrived.slice(0, sent.length)).toEqual(sent);
    expect(arrived).toHaveLength(sent.length + 1);
  });

  it("a send bigger than producer.maxQueuedBytes still queues when nothing else waits", async () => {
    const { producer, serviceQueue } = setup({ config: { producer: { maxQueuedBytes: 1 } } });
    await producer.ready();
    const payload = "x".repeat(20_000);
    const sends = Array.from({ length: 1_200 }, () => producer.send(anyPayload, [payload]));
    expect(publisherOf(producer).queued).toBe(1);
    const outcomes = await Promise.allSettled(sends);
    const sent = outcomes.filter((outcome) => outcome.status === "fulfilled").length;
    expect(outcomes.filter((outcome) => outcome.status === "rejected").length).toBe(1_200 - sent);
    expect(await messageCount(amqpUrl, serviceQueue)).toBe(sent);
  });

  it("bad calls reject with their code and nothing reaches the broker", async () => {
    const { producer, serviceQueue, platformQueue } = setup({
      config: { limits: { maxMessageBytes: 4_096 } },
    });
    await producer.ready();
    const violation = await producer
      .sendByName("orders.place", [-1], { note: 5, extra: true })
      .catch((e: unknown) => e);
    expect(violation).toMatchObject({ code: "TASK_ARGS_INVALID" });
    expect((violation as { issues: { path: string }[] }).issues.map((issue) => issue.path).sort()).toEqual([
      "args[0]",
      "kwargs.extra",
      "kwargs.note",
    ]);
    await expect(producer.sendByName("nobody.home", [])).rejects.toMatchObject({ code: "TASK_UNKNOWN" });
    await expect(producer.send(anyPayload, [{ at: Symbol("x") }])).rejects.toMatchObject({
      code: "MESSAGE_NOT_SERIALIZABLE",
    });
    await expect(producer.send(anyPayload, [new Map()])).rejects.toMatchObject({
      code: "MESSAGE_NOT_SERIALIZABLE",
    });
    await expect(producer.send(anyPayload, ["x".repeat(5_000)])).rejects.toMatchObject({
      code: "MESSAGE_TOO_LARGE",
    });
    await expect(producer.send(placeOrder, [1], {}, { priority: 256 })).rejects.toMatchObject({
      code: "MESSAGE_INVALID",
    });
    expect(await messageCount(amqpUrl, serviceQueue)).toBe(0);
    expect(await messageCount(amqpUrl, platformQueue)).toBe(0);
  });

  it("unroutable: with the queues deleted under it a send rejects PUBLISH_UNROUTABLE; a reconnect re-declares them", async () => {
    // Once the topology exists the platform queue (`#`) matches every task name, so a return can only
    // happen when queues are deleted under a running producer: that is what this test does.
    const name = `producer-test-${randomUUID()}`;
    const { producer, serviceQueue, platformQueue } = setup({ name });
    await producer.ready();
    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    await channel.deleteQueue(serviceQueue);
    await channel.deleteQueue(platformQueue);
    await connection.close();
    await expect(producer.send(placeOrder, [1])).rejects.toMatchObject({ code: "PUBLISH_UNROUTABLE" });

    const states: ProducerState[] = [];
    producer.on("state", (state) => states.push(state));
    await expect
      .poll(() => closeConnectionsNamed(managementUrl!, name), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await expect.poll(() => states.join(","), { timeout: 10_000 }).toBe("unavailable,available");
    const receipt = await producer.send(placeOrder, [2]);
    expect(await drainTaskIds(amqpUrl, serviceQueue)).toEqual([receipt.id]);
  });

  it("a queue declared with other arguments is drift: fatal TOPOLOGY_MISMATCH, not a reconnect loop", async () => {
    const prefix = createTestNamespace("producer-drift");
    prefixes.push(prefix);
    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    await channel.assertQueue(`${prefix}.orders`, {
      durable: true,
      arguments: { "x-queue-type": "classic" },
    });
    await connection.close();
    const producer = createProducer({ config: producerConfig(amqpUrl, prefix), contracts, logger });
    producers.push(producer);
    const error = await producer.ready(10_000).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TOPOLOGY_MISMATCH" });
    expect((error as Error).message).toContain(`${prefix}.orders`);
    expect(producer.state).toBe("failed");
    await expect(producer.send(placeOrder, [1])).rejects.toMatchObject({ code: "TOPOLOGY_MISMATCH" });
  });

  it("wrong password: fatal BROKER_AUTH_FAILED within the connect timeout, password masked", async () => {
    const url = new URL(amqpUrl);
    url.password = "hunter2-wrong";
    const states: ProducerState[] = [];
    const started = Date.now();
    const { producer } = setup({ url: url.toString() });
    producer.on("state", (state) => states.push(state));
    await expect.poll(() => producer.state, { timeout: 3_000 }).toBe("failed");
    expect(Date.now() - started).toBeLessThan(3_000); // producerConfig's connectTimeoutMs
    expect(producer.available).toBe(false);
    expect(states.at(-1)).toBe("failed");
    expect(producer.lastError).toMatchObject({ code: "BROKER_AUTH_FAILED" });
    const sendStarted = performance.now();
    const error = await producer.send(placeOrder, [1]).catch((e: unknown) => e);
    expect(performance.now() - sendStarted).toBeLessThan(50);
    expect(error).toMatchObject({ code: "BROKER_AUTH_FAILED" });
    expect(String((error as Error).message)).not.toContain("hunter2-wrong");
    expect(String((error as Error).message)).toContain("***");
  });

  it("close() settles every outstanding send; the resolved ones are in the queue", async () => {
    const { producer, serviceQueue } = setup();
    await producer.ready();
    const outcomes = Array.from({ length: 2_000 }, (_, i) =>
      producer.send(placeOrder, [i]).then(
        (receipt) => ({ ok: true as const, id: receipt.id }),
        (error: { code?: string }) => ({ ok: false as const, code: error.code }),
      ),
    );
    await producer.close();
    const settled = await Promise.all(outcomes);
    const resolved = settled.filter((outcome) => outcome.ok).map((outcome) => outcome.id);
    // Not confirmed by close()'s deadline: CLOSED; a send's own deadline may pass first on a slow machine.
    const codes = settled.flatMap((outcome) => (outcome.ok ? [] : [outcome.code]));
    expect(codes.filter((code) => code !== "CLOSED" && code !== "PUBLISH_TIMEOUT")).toEqual([]);
    const inQueue = new Set(await drainTaskIds(amqpUrl, serviceQueue));
    expect(resolved.filter((id) => !inQueue.has(id))).toEqual([]);
    expect(producer.state).toBe("closed");
    await expect(producer.send(placeOrder, [1])).rejects.toMatchObject({ code: "CLOSED" });
  });
});
