import { isToolboxError, parseConfig, planTopology, type TopologyPlan } from "@worker-toolbox/config";
import {
  applyTopology,
  applyWorkerQueues,
  createManagementClient,
  type ManagementClient,
  TopologyMismatchError,
  verifyTopology,
} from "@worker-toolbox/runtime/topology";
import { createTestNamespace, deleteNamespace } from "@worker-toolbox/testing";
import amqp, { type ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServers } from "../support/servers.js";

const { amqpUrl, managementUrl } = testServers();
const prefixes: string[] = [];
let connection: ChannelModel;
let management: ManagementClient;
let connectionClosed = false;

function planFor(label: string, queueType: "quorum" | "classic" = "quorum"): TopologyPlan {
  const prefix = createTestNamespace(label);
  prefixes.push(prefix);
  const config = parseConfig({
    environment: { prefix },
    service: "export",
    broker: { url: amqpUrl },
    queue: { type: queueType, delayRungsMs: [1_000, 5_000] },
  });
  return planTopology(config);
}

async function apply(plan: TopologyPlan) {
  const channel = await connection.createChannel();
  try {
    return await applyTopology(channel, plan);
  } finally {
    await channel.close();
  }
}

/** Everything on the broker under a prefix, as comparable data. */
async function snapshot(prefix: string) {
  const mine = (name: string) => name.startsWith(`${prefix}.`);
  const queues = (await management.listQueues("/"))
    .filter((queue) => mine(queue.name))
    .map(({ name, type, durable, arguments: args }) => ({ name, type, durable, args }));
  const exchanges = (await management.listExchanges("/"))
    .filter((exchange) => mine(exchange.name))
    .map(({ name, type, durable }) => ({ name, type, durable }));
  // The default exchange ("") binds every queue implicitly; only explicit bindings are ours.
  const bindings = (await management.listBindings("/")).filter((binding) => mine(binding.source));
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  return { queues: queues.sort(byName), exchanges: exchanges.sort(byName), bindings };
}

beforeAll(async () => {
  if (!managementUrl) throw new Error("these tests need RABBITMQ_MANAGEMENT_URL");
  management = createManagementClient({ url: managementUrl });
  connection = await amqp.connect(amqpUrl);
  connection.on("close", () => {
    connectionClosed = true;
  });
});

afterAll(async () => {
  await connection?.close();
  for (const prefix of prefixes) await deleteNamespace(managementUrl!, prefix);
});

describe("applyTopology", () => {
  it("declares the plan, and applying it twice changes nothing", async () => {
    const plan = planFor("apply");
    const applied = await apply(plan);
    expect(applied.queues).toEqual(plan.queues.map((queue) => queue.name));
    const first = await snapshot(plan.prefix);
    expect(first.queues).toHaveLength(plan.queues.length);
    expect(first.exchanges.map((exchange) => exchange.name)).toEqual(
      plan.exchanges.map((exchange) => exchange.name).sort(),
    );
    expect(first.queues.find((queue) => queue.name === `${plan.prefix}.export`)).toMatchObject({
      type: "quorum",
      args: {
        "x-queue-type": "quorum",
        "x-delivery-limit": 10,
        "x-dead-letter-exchange": `${plan.prefix}.dead`,
        "x-dead-letter-routing-key": "export",
      },
    });
    expect(first.bindings).toHaveLength(plan.bindings.length);

    await apply(plan);
    expect(await snapshot(plan.prefix)).toEqual(first);

    const verified = await verifyTopology({ connection, plan, managementUrl: managementUrl! });
    expect(verified).toEqual({ ok: true, mismatches: [], bindingsChecked: "management-api" });
  });
});

describe("verifyTopology", () => {
  it("reports a queue declared with other arguments precisely and keeps the caller's connection", async () => {
    const plan = planFor("queue-args");
    const queue = `${plan.prefix}.export`;
    const setup = await connection.createChannel();
    await setup.assertQueue(queue, {
      durable: true,
      arguments: {
        "x-queue-type": "classic",
        "x-dead-letter-exchange": `${plan.prefix}.dead`,
        "x-dead-letter-routing-key": "export",
      },
    });
    await setup.close();
    // Everything else as planned, so the queue is the only difference.
    const rest = { ...plan, queues: plan.queues.filter((item) => item.name !== queue) };
    await apply({ ...rest, bindings: plan.bindings.filter((binding) => binding.queue !== queue) });
    const channel = await connection.createChannel();
    await channel.bindQueue(queue, `${plan.prefix}.tasks`, "export.#");
    await channel.close();

    const result = await verifyTopology({ connection, plan, managementUrl: managementUrl! });

    expect(result.ok).toBe(false);
    const differing = (argument: string, expected: unknown, actual: unknown) => ({
      entity: "queue",
      name: queue,
      problem: "different-argument",
      argument,
      expected,
      actual,
    });
    // The broker's 406 names one differing argument (the first it compares); the management API finds
    // every other: the type, the delivery limit and the at-least-once dead-lettering a classic queue lacks.
    expect(result.mismatches).toHaveLength(4);
    expect(result.mismatches).toEqual(
      expect.arrayContaining([
        differing("x-queue-type", "quorum", "classic"),
        differing("x-delivery-limit", 10, null),
        differing("x-dead-letter-strategy", "at-least-once", null),
        differing("x-overflow", "reject-publish", null),
      ]),
    );
    const error = new TopologyMismatchError(result.mismatches, plan);
    expect(error.code).toBe("TOPOLOGY_MISMATCH");
    expect(error.message).toContain(
      `queue ${queue}: argument x-queue-type is 'classic' on the broker but the plan says 'quorum' — ` +
        "delete and re-create the queue after draining it, or set WT_QUEUE_TYPE=classic",
    );

    // The caller's connection is untouched: still open and usable.
    expect(connectionClosed).toBe(false);
    const after = await connection.createChannel();
    await after.checkQueue(queue);
    await after.close();

    // Asserting over it fails with the same precise mismatch instead of a bare 406.
    const doomed = await connection.createChannel();
    doomed.on("error", () => {});
    const applied = applyTopology(doomed, plan);
    await expect(applied).rejects.toSatisfy((thrown) => isToolboxError(thrown, "TOPOLOGY_MISMATCH"));
    const refused = (await applied.catch((thrown: unknown) => thrown)) as {
      mismatches: { argument: string }[];
    };
    expect(refused.mismatches).toEqual([
      expect.objectContaining({ name: queue, problem: "different-argument" }),
    ]);
    expect(result.mismatches.map((m) => m.argument)).toContain(refused.mismatches[0]?.argument);
    expect(connectionClosed).toBe(false);
  });

  it("names a missing platform binding", async () => {
    const plan = planFor("binding");
    await apply(plan);
    const channel = await connection.createChannel();
    await channel.unbindQueue(`${plan.prefix}.platform`, `${plan.prefix}.tasks`, "#");
    await channel.close();

    const result = await verifyTopology({ connection, plan, managementUrl: managementUrl! });

    expect(result).toEqual({
      ok: false,
      bindingsChecked: "management-api",
      mismatches: [
        {
          entity: "binding",
          name: `${plan.prefix}.tasks -> ${plan.prefix}.platform [#]`,
          problem: "missing",
        },
      ],
    });
  });

  it("sees Celery's control exchange: a missing one is named, and a worker's own queue is declared from the plan", async () => {
    const plan = planFor("control");
    await apply(plan);
    const pidbox = `${plan.prefix}.celery.pidbox`;
    const channel = await connection.createChannel();
    const own = await applyWorkerQueues(channel, plan, "export", "export-1@host");
    expect([...own]).toEqual([["control", `export-1@host.${pidbox}`]]);
    expect((await management.listBindings("/")).filter((b) => b.source === pidbox)).toEqual([
      expect.objectContaining({ destination: `export-1@host.${pidbox}`, routingKey: "" }),
    ]);
    // Exclusive to the declaring connection (RabbitMQ 4.3 refuses transient non-exclusive queues): another
    // connection may not declare it, as kombu declares a node's queue, nor use it.
    const other = await amqp.connect(amqpUrl);
    const foreign = await other.createChannel();
    foreign.on("error", () => undefined);
    await expect(
      foreign.assertQueue(`export-1@host.${pidbox}`, {
        durable: false,
        autoDelete: true,
        arguments: { "x-expires": 10_000, "x-message-ttl": 300_000 },
      }),
    ).rejects.toMatchObject({ code: 405 });
    await other.close();
    await channel.close();
    await (await connection.createChannel()).deleteExchange(pidbox);

    const result = await verifyTopology({ connection, plan, managementUrl: managementUrl! });
    expect(result.mismatches).toEqual([{ entity: "exchange", name: pidbox, problem: "missing" }]);
  });

  it("detects an exchange of the wrong type and missing entities", async () => {
    const plan = planFor("exchange-type");
    const channel = await connection.createChannel();
    await channel.assertExchange(`${plan.prefix}.tasks`, "direct", { durable: true });
    await channel.close();

    const result = await verifyTopology({ amqpUrl, plan, managementUrl: managementUrl! });

    expect(result.mismatches[0]).toEqual({
      entity: "exchange",
      name: `${plan.prefix}.tasks`,
      problem: "wrong-type",
      argument: "type",
      expected: "topic",
      actual: "direct",
    });
    expect(result.mismatches.slice(1)).toContainEqual({
      entity: "queue",
      name: `${plan.prefix}.platform`,
      problem: "missing",
    });
    expect(result.mismatches).toContainEqual({
      entity: "exchange",
      name: `${plan.prefix}.delay`,
      problem: "missing",
    });
  });

  it("skips bindings with a reason when the management API is unreachable", async () => {
    const plan = planFor("no-management");
    await apply(plan);
    const result = await verifyTopology({
      connection,
      plan,
      managementUrl: "http://guest:secret@127.0.0.1:1/",
    });
    expect(result).toMatchObject({ ok: true, mismatches: [], bindingsChecked: "skipped" });
    expect(result.skippedReason).toMatch(
      /cannot reach the RabbitMQ management API at http:\/\/guest:\*\*\*@127\.0\.0\.1:1\//,
    );
    expect(result.skippedReason).not.toContain("secret");
  });
});
