import { closeConnectionsNamed } from "@worker-toolbox/testing";
import amqp, { type ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { broadcastCommand } from "../../packages/runtime/src/control/broadcast.js";
import { pidboxNames } from "../../packages/runtime/src/control/pidbox.js";
import { createManagementClient } from "../../packages/runtime/src/management/client.js";
import { readClusterState } from "../../packages/runtime/src/management/clusterState.js";
import { runDoctor } from "../../packages/runtime/src/ops/doctor.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { add, implementations } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "./harness.js";

/**
 * A worker's own remote-control (pidbox) queue is exclusive to its connection — RabbitMQ 4.3 refuses the
 * transient non-exclusive queue Celery declares for its nodes — so it is gone with the connection and the
 * worker declares it again after every reconnect; while the broker still holds it for an older connection,
 * the worker runs its tasks and takes the queue over once it is free.
 */
const servers = testServers();
let h: Harness;
let worker: Worker;
let probe: ChannelModel;

const ping = async (node: string) =>
  broadcastCommand(probe, h.prefix, "ping", {}, { destination: [node], timeoutMs: 500 });

beforeAll(async () => {
  h = await createHarness("control-queue", servers);
  worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
  await worker.start();
  probe = await amqp.connect(servers.amqpUrl);
});

afterAll(async () => {
  await probe?.close().catch(() => undefined);
  await worker?.close({ graceMs: 500 });
  await h?.close();
});

describe.skipIf(!servers.managementUrl)("a worker's pidbox queue", () => {
  it("is exclusive to the worker's connection, so the doctor's RabbitMQ 4.x check does not list it", async () => {
    const queue = pidboxNames(`${h.prefix}.celery`).queue(worker.nodeName);
    const channel = await probe.createChannel();
    channel.on("error", () => undefined);
    // Another connection may not even look at an exclusive queue: 405 RESOURCE_LOCKED.
    await expect(channel.checkQueue(queue)).rejects.toMatchObject({ code: 405 });
    expect(await ping(worker.nodeName)).toEqual({ [worker.nodeName]: { ok: "pong" } });

    const management = createManagementClient({ url: servers.managementUrl! });
    const state = await readClusterState(management, "/", h.prefix);
    expect(state.transientQueues).not.toContain(queue);
    expect(state.toolboxTransientQueues).toEqual([]);
    const report = await runDoctor({ config: h.config, database: false });
    const upgrade = report.checks.find((check) => check.id === "upgrade:rabbitmq-4");
    expect(upgrade?.items ?? []).not.toContainEqual(expect.stringContaining(queue));
  });

  it("is declared again after the worker's connection is lost", async () => {
    // The management API lists a connection a few seconds after it opened.
    await expect
      .poll(() => closeConnectionsNamed(servers.managementUrl!, `worker:${worker.nodeName}`), {
        timeout: 15_000,
      })
      .toBe(1);
    await expect
      .poll(() => ping(worker.nodeName), { timeout: 15_000, interval: 200 })
      .toEqual({ [worker.nodeName]: { ok: "pong" } });
    expect(worker.state).toBe("ready");
  });

  it("while the broker still holds it for an older connection, the worker runs tasks and takes it over once free", async () => {
    // The next worker of this service in this process is named `<service>-<pid>-2@<host>`. A connection the
    // broker has not dropped yet (a network cut before the heartbeat times out) holds its queue.
    const name = worker.nodeName.replace("@", "-2@");
    const stale = await amqp.connect(servers.amqpUrl);
    const second = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
    try {
      const held = await stale.createChannel();
      await held.assertQueue(pidboxNames(`${h.prefix}.celery`).queue(name), { exclusive: true });
      await second.start();
      expect(second.nodeName).toBe(name);
      const { id } = await h.producer.send(add, [20, 22]);
      expect(await h.waitForStatus(id, "SUCCESS")).toMatchObject({ result_json: 42 });
      expect(await ping(name)).toEqual({});
      await stale.close();
      await expect
        .poll(() => ping(name), { timeout: 10_000, interval: 200 })
        .toEqual({ [name]: { ok: "pong" } });
    } finally {
      await stale.close().catch(() => undefined);
      await second.close({ graceMs: 500 });
    }
  });
});
