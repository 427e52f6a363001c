import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { entityNames } from "@worker-toolbox/config";
import { createTestNamespace, type RabbitMQServer, startRabbitMQ } from "@worker-toolbox/testing";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createProducer,
  type Producer,
  type ProducerState,
} from "../../packages/runtime/src/producer/index.js";
import { anyPayload, contracts, drainTaskIds, placeOrder, producerConfig } from "./support.js";

/**
 * Faults that need the broker to go away: this file starts its own RabbitMQ node (never the shared one)
 * and stops, kills and restarts it.
 */
const logger = pino({ level: "silent" });
let node: RabbitMQServer;
const producers: Producer[] = [];

beforeAll(async () => {
  node = await startRabbitMQ();
});

afterAll(async () => {
  await node?.dispose();
});

afterEach(async () => {
  await Promise.all(producers.splice(0).map((producer) => producer.close()));
  if (!node.running) await node.start();
});

function producerFor(prefix: string, config: Parameters<typeof producerConfig>[2] = {}): Producer {
  const producer = createProducer({ config: producerConfig(node.url, prefix, config), contracts, logger });
  producers.push(producer);
  return producer;
}

/** Run `during` while the broker blocks publishers (a memory alarm); the alarm is lifted however it ends. */
async function whileBrokerBlocks<T>(during: () => Promise<T>): Promise<T> {
  await node.rabbitmqctl(["set_vm_memory_high_watermark", "0"]);
  try {
    return await during();
  } finally {
    await node.rabbitmqctl(["set_vm_memory_high_watermark", "0.4"]);
  }
}

/**
 * Once the alarm is lifted: a new send arrives, and so does every one of `ids` written to the socket before
 * it, but none of `neverSent` (rejected as not published).
 */
async function expectOnlyWrittenArrive(
  producer: Producer,
  prefix: string,
  ids: readonly string[],
  neverSent: readonly string[],
): Promise<void> {
  const after = await producer.send(placeOrder, [1]);
  const arrived = new Set(await drainTaskIds(node.url, entityNames(prefix).serviceQueue("orders")));
  expect(arrived.has(after.id)).toBe(true);
  expect(neverSent.filter((id) => arrived.has(id))).toEqual([]);
  expect(arrived.size).toBe(ids.length - neverSent.length + 1);
}

type Outcome = { ok: true; id: string; index: number } | { ok: false; code: string; index: number };

describe("producer against a broker that goes away", () => {
  it("a broker that blocks publishers (memory alarm): send rejects with PUBLISH_TIMEOUT by its deadline", async () => {
    const producer = producerFor(createTestNamespace("alarm"), { producer: { publishTimeoutMs: 1_000 } });
    await producer.ready(30_000);
    await producer.send(placeOrder, [7]);
    await whileBrokerBlocks(async () => {
      const started = Date.now();
      const outcome = await producer.send(placeOrder, [7]).catch((error: unknown) => error);
      const waited = Date.now() - started;
      expect(outcome).toMatchObject({ code: "PUBLISH_TIMEOUT" });
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(waited).toBeLessThan(2_500);
    });
    await expect(producer.send(placeOrder, [7])).resolves.toMatchObject({ name: placeOrder.name });
  });

  it("sends queued behind a blocked connection time out as 'not published' and never arrive", async () => {
    const prefix = createTestNamespace("blocked");
    // Room for all ~60 MB: this test is about the deadline, not the backlog's bound.
    const producer = producerFor(prefix, {
      producer: { publishTimeoutMs: 1_500, maxQueuedBytes: 256 * 1024 * 1024 },
    });
    await producer.ready(30_000);
    // ~60 MB: more than amqplib's channel buffer (1,024 frames) and the socket buffers hold, so sends queue.
    const payload = "x".repeat(20_000);
    const ids = Array.from({ length: 3_000 }, () => randomUUID());
    // White-box: what the producer's publisher still holds in its backlog while the broker blocks.
    const publisher = (producer as unknown as { publisher: { queued: number; backlog: unknown[] } })
      .publisher;
    let queuedWhileBlocked = { queued: -1, kept: -1 };
    const outcomes = await whileBrokerBlocks(async () => {
      const settled = await Promise.all(
        ids.map((id) =>
          producer.send(anyPayload, [payload], undefined, { id }).catch((error: unknown) => error),
        ),
      );
      queuedWhileBlocked = { queued: publisher.queued, kept: publisher.backlog.length };
      return settled;
    });
    expect(outcomes.every((outcome) => (outcome as { code?: string }).code === "PUBLISH_TIMEOUT")).toBe(true);
    const neverSent = ids.filter((_, i) => /it was not published/.test((outcomes[i] as Error).message));
    expect(neverSent.length).toBeGreaterThan(0);
    // Sends that timed out while queued were let go, though the socket never drained.
    expect(queuedWhileBlocked).toEqual({ queued: 0, kept: expect.any(Number) });
    expect(queuedWhileBlocked.kept).toBeLessThan(1_024); // the compaction threshold
    // What was handed to the socket is delivered once the alarm clears; what waited for it never is.
    await expectOnlyWrittenArrive(producer, prefix, ids, neverSent);
  }, 60_000);

  it("sendMany against a blocked connection: the calls it could not write are rejected as not published", async () => {
    const prefix = createTestNamespace("blockedmany");
    const producer = producerFor(prefix, { producer: { publishTimeoutMs: 1_500 } });
    await producer.ready(30_000);
    const payload = "x".repeat(20_000);
    const calls = Array.from({ length: 3_000 }, () => ({
      args: [payload] as [unknown],
      options: { id: randomUUID() },
    }));
    let took = Number.POSITIVE_INFINITY;
    const outcomes = await whileBrokerBlocks(async () => {
      const started = Date.now();
      const settled = await producer.sendMany(anyPayload, calls);
      took = Date.now() - started;
      return settled;
    });
    // One publish deadline for the written sends' confirms, one for the stall: not one per call.
    expect(took).toBeLessThan(10_000);
    expect(outcomes.every((outcome) => outcome.status === "rejected")).toBe(true);
    const reasons = outcomes.map(
      (outcome) => (outcome as PromiseRejectedResult).reason as Error & { code: string },
    );
    expect(new Set(reasons.map((reason) => reason.code))).toEqual(new Set(["PUBLISH_TIMEOUT"]));
    const neverSent = calls
      .filter((_, i) => /not published/.test(reasons[i]!.message))
      .map((call) => call.options.id);
    expect(neverSent.length).toBeGreaterThan(calls.length / 2);
    await expectOnlyWrittenArrive(
      producer,
      prefix,
      calls.map((call) => call.options.id),
      neverSent,
    );
  }, 60_000);

  it("starts with the broker down: unavailable within a second, fails fast, recovers without a restart", async () => {
    await node.stop();
    const prefix = createTestNamespace("down");
    const started = performance.now();
    const events: [ProducerState, number][] = [];
    const producer = producerFor(prefix);
    producer.on("state", (state) => events.push([state, performance.now() - started]));
    expect(producer.available).toBe(false);
    // Built with offline buffering: sends are held (bounded) instead of failing, and flushed on reconnect.
    const buffered = producerFor(prefix, { producer: { offlineBufferSize: 3, publishTimeoutMs: 120_000 } });

    await expect.poll(() => events[0]?.[0], { timeout: 1_000, interval: 10 }).toBe("unavailable");
    expect(events[0]![1]).toBeLessThan(1_000);
    expect(producer.lastError).toMatchObject({ code: "BROKER_UNAVAILABLE" });

    const sendStarted = performance.now();
    const error = await producer.send(placeOrder, [1]).catch((e: unknown) => e);
    const sendMs = performance.now() - sendStarted;
    expect(error).toMatchObject({ code: "PUBLISH_CIRCUIT_OPEN" });
    expect(sendMs).toBeLessThan(50);

    await expect.poll(() => buffered.state, { timeout: 1_000, interval: 10 }).toBe("unavailable");
    const held = [10, 11, 12].map((n) => buffered.send(placeOrder, [n]));
    await expect(buffered.send(placeOrder, [13])).rejects.toMatchObject({ code: "PUBLISH_BUFFER_FULL" });

    await node.start();
    await producer.ready(30_000);
    expect(producer.available).toBe(true);
    expect(events.map(([state]) => state)).toEqual(["unavailable", "available"]);
    const receipt = await producer.send(placeOrder, [2]);
    const heldIds = (await Promise.all(held)).map((r) => r.id);
    const inQueue = await drainTaskIds(node.url, entityNames(prefix).serviceQueue("orders"));
    expect(new Set(inQueue)).toEqual(new Set([...heldIds, receipt.id]));
  }, 120_000);

  for (const [queueType, fault] of [
    ["quorum", "restart"],
    ["classic", "kill"],
  ] as const) {
    it(`${fault} in the middle of 10,000 sends (${queueType} queues): every send resolved or rejected typed; zero resolved-but-missing`, async () => {
      const prefix = createTestNamespace(`burst-${queueType}`);
      const producer = producerFor(prefix, {
        queue: { type: queueType },
        producer: { publishTimeoutMs: 15_000 },
      });
      await producer.ready(30_000);
      const total = 10_000;
      const outcomes: Promise<Outcome>[] = [];
      let inFlight = 0;
      let faultDone: Promise<void> | undefined;
      for (let index = 0; index < total; index++) {
        if (index === 3_000) {
          faultDone = (async () => {
            if (fault === "kill") await node.kill();
            else await node.stop();
            await node.start();
          })();
        }
        inFlight++;
        outcomes.push(
          producer.send(placeOrder, [index]).then(
            (receipt): Outcome => ({ ok: true, id: receipt.id, index }),
            (error: { code?: string }): Outcome => ({ ok: false, code: String(error.code), index }),
          ),
        );
        void outcomes.at(-1)!.then(() => inFlight--);
        // Like an app under load: at most 1,000 unconfirmed, and a short pause while the breaker is open.
        while (inFlight >= 1_000) await sleep(1);
        if (!producer.available) await sleep(5);
      }
      await faultDone;
      const settled = await Promise.all(outcomes);
      await producer.ready(30_000);

      const resolved = settled.filter((o) => o.ok);
      const rejected = settled.filter((o) => !o.ok);
      const codes: Record<string, number> = {};
      for (const outcome of rejected) codes[outcome.code] = (codes[outcome.code] ?? 0) + 1;
      const inQueue = new Set(await drainTaskIds(node.url, entityNames(prefix).serviceQueue("orders")));
      const missing = resolved.filter((o) => !inQueue.has(o.id));
      console.log(
        `[burst ${queueType}/${fault}] resolved ${resolved.length}, rejected ${rejected.length} ${JSON.stringify(codes)}, ` +
          `in queue ${inQueue.size}, resolved-but-missing ${missing.length}`,
      );
      expect(resolved.length + rejected.length).toBe(total);
      expect(missing).toEqual([]);
      const typed = ["PUBLISH_CONNECTION_LOST", "PUBLISH_CIRCUIT_OPEN", "PUBLISH_TIMEOUT", "PUBLISH_NACKED"];
      expect(Object.keys(codes).filter((code) => !typed.includes(code))).toEqual([]);
      // The fault really hit the burst, and sends succeeded again afterwards without a new producer.
      expect(rejected.length).toBeGreaterThan(0);
      expect(resolved.some((o) => o.index < 3_000)).toBe(true);
      expect(resolved.some((o) => o.index > Math.max(...rejected.map((r) => r.index)))).toBe(true);
    }, 240_000);
  }
});
