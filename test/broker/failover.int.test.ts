import { entityNames, maskUrl, parseConfig } from "@worker-toolbox/config";
import { createTestNamespace, deleteNamespace } from "@worker-toolbox/testing";
import amqp from "amqplib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createProducer } from "../../packages/runtime/src/producer/index.js";
import type { Producer } from "../../packages/runtime/src/producer/types.js";
import { contracts, echo, SERVICE } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { startTcpProxy, type TcpProxy } from "../support/tcpProxy.js";
import { testLogger } from "../worker/harness.js";

/*
 * Failover across a list of broker URLs, with two TCP forwarders in front of the one test broker standing
 * in for two nodes (test/cluster runs the same against a real 3-node cluster). Taking a forwarder down
 * resets its connections and refuses new ones, as a node killed with SIGKILL does.
 */
const { amqpUrl, managementUrl } = testServers();
let a: TcpProxy;
let b: TcpProxy;
const producers: Producer[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  const target = new URL(amqpUrl);
  a = await startTcpProxy(target.hostname, Number(target.port));
  b = await startTcpProxy(target.hostname, Number(target.port));
});

afterEach(async () => {
  await Promise.all(producers.splice(0).map((producer) => producer.close()));
  await Promise.all([a.up(), b.up()]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  if (managementUrl)
    for (const prefix of prefixes) await deleteNamespace(managementUrl, prefix).catch(() => {});
});

async function producerOn(nodes: TcpProxy[]): Promise<{ producer: Producer; prefix: string }> {
  const prefix = createTestNamespace("failover");
  prefixes.push(prefix);
  const config = parseConfig({
    mode: "test",
    environment: { prefix },
    broker: {
      url: nodes.map((node) => node.urlFor(amqpUrl)).join(","),
      failoverOrder: "listed",
      reconnectInitialDelayMs: 50,
      reconnectMaxDelayMs: 200,
    },
    producer: { publishTimeoutMs: 10_000 },
    logLevel: "silent",
  });
  const producer = createProducer({ config, contracts, logger: testLogger, name: `failover:${prefix}` });
  producers.push(producer);
  await producer.ready(20_000);
  return { producer, prefix };
}

/** Every task id now in the service queue (taken, so the queue is left empty). */
async function idsInQueue(prefix: string): Promise<Set<string>> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    const ids = new Set<string>();
    for (;;) {
      const message = await channel.get(entityNames(prefix).serviceQueue(SERVICE), { noAck: true });
      if (!message) return ids;
      ids.add(String(message.properties.correlationId));
    }
  } finally {
    await connection.close();
  }
}

const settle = (sends: Promise<{ id: string }>[]) => Promise.allSettled(sends);

describe("a producer with several broker URLs", () => {
  it("replaces a lost node at once: sends in flight and sent meanwhile are published there, none rejected", async () => {
    const { producer, prefix } = await producerOn([a, b]);
    expect(producer.node).toBe(maskUrl(a.urlFor(amqpUrl)));
    const before = Array.from({ length: 500 }, (_, i) => producer.send(echo, [i]));
    await a.down();
    const during = Array.from({ length: 200 }, (_, i) => producer.send(echo, [500 + i]));
    const outcomes = await settle([...before, ...during]);
    const rejected = outcomes.filter((o) => o.status === "rejected");
    expect(rejected).toEqual([]);
    expect(producer.node).toBe(maskUrl(b.urlFor(amqpUrl)));
    // Resolved means stored: every id is in the queue (a resent one may be there twice, never missing).
    const ids = await idsInQueue(prefix);
    const resolved = outcomes.map((o) => (o as PromiseFulfilledResult<{ id: string }>).value.id);
    expect(resolved.filter((id) => !ids.has(id))).toEqual([]);
  });

  it("rejects what waited once no node is reachable, fails fast after, and sends again when a node returns", async () => {
    const { producer } = await producerOn([a, b]);
    const inFlight = Array.from({ length: 300 }, (_, i) => producer.send(echo, [i]));
    await Promise.all([a.down(), b.down()]);
    const outcomes = await settle(inFlight);
    const codes = new Set(
      outcomes.flatMap((o) => (o.status === "rejected" ? [(o.reason as { code: string }).code] : [])),
    );
    // Some were confirmed before the cut; the rest name the lost connection, none is left hanging.
    expect([...codes].filter((code) => code !== "PUBLISH_CONNECTION_LOST")).toEqual([]);
    const waited = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult | undefined;
    if (waited) expect(waited.reason.message).toContain("no broker node is reachable");
    await expect(producer.send(echo, [1])).rejects.toMatchObject({ code: "PUBLISH_CIRCUIT_OPEN" });
    expect(producer.lastError?.message).toMatch(/no RabbitMQ node of 2 is reachable/);
    expect(producer.lastError?.message).not.toMatch(/guest:guest@/);

    await b.up();
    await producer.ready(20_000);
    expect(producer.node).toBe(maskUrl(b.urlFor(amqpUrl)));
    await expect(producer.send(echo, [2])).resolves.toMatchObject({ id: expect.any(String) });
  });
});
