import { hostname } from "node:os";
import { entityNames, maskUrl } from "@worker-toolbox/config";
import { afterEach, describe, expect, it } from "vitest";
import { createManagementClient } from "../../packages/runtime/src/management/client.js";
import { SERVICE } from "../fixtures/workers/tasks.js";
import { runCliCaptured } from "../support/cli.js";
import {
  awaitQuorumOnline,
  type ClusterWorld,
  checkEveryResolvedSendStoredOnce,
  createWorld,
  nodesOf,
  resultCount,
  startSending,
  startTimedWorker,
  type TimedWorker,
  useCluster,
  waitForResults,
} from "./support.js";

/*
 * Failover, a rolling restart and the doctor on a real 3-node cluster (one for the file; the tests share
 * it, since starting three Erlang nodes is the expensive part). Tasks are sent at a steady rate
 * while nodes are killed and restarted; every process lists the nodes in order, so the producer and the
 * worker both start on node 1, the node killed first. CI runs a lean version (WT_CLUSTER_RATE tasks per
 * second, default 25); docs/operations.md records a full-size run (WT_CLUSTER_RATE=200
 * WT_CLUSTER_TASKS=10000: sending goes on after the last restart until that many were sent).
 */
const RATE = Number(process.env.WT_CLUSTER_RATE ?? 25);
const TASKS = Number(process.env.WT_CLUSTER_TASKS ?? 0);
const own = useCluster();
let world: ClusterWorld | undefined;
let worker: TimedWorker | undefined;

afterEach(async () => {
  worker?.child.kill("SIGKILL");
  await worker?.exited;
  worker = undefined;
  await world?.close();
  world = undefined;
  // A test that failed half-way must not leave a node down for the next.
  const down = own.cluster.nodes.filter((node) => !node.running);
  if (down.length > 0) {
    await Promise.all(down.map((node) => node.start()));
    await own.cluster.awaitMembers();
  }
}, 180_000);

/** Kill (or stop) a node while it is in use; how long until the worker consumes again and the producer sends. */
async function failOver(
  w: ClusterWorld,
  proc: TimedWorker,
  index: number,
  how: "kill" | "stop",
): Promise<{ workerMs: number; producerMs: number; resultsMs: number }> {
  const { cluster, producer, pool } = w;
  const node = cluster.nodes[index]!;
  const before = await resultCount(pool);
  const producerBack = new Promise<number>((resolve) => {
    const onState = (state: string) => {
      if (state === "available") {
        producer.off("state", onState);
        resolve(Date.now());
      }
    };
    producer.on("state", onState);
  });
  const at = Date.now();
  const stopping = how === "kill" ? node.kill() : node.stop();
  const [workerAt, producerAt] = await Promise.all([proc.readyAfter(at, 60_000), producerBack]);
  const resultsAt = await waitForResults(pool, before + 20, 60_000);
  await stopping;
  return { workerMs: workerAt - at, producerMs: producerAt - at, resultsMs: resultsAt - at };
}

/** Which nodes (as indexes) the worker process's connection and the producer use right now. */
async function nodesInUse(
  w: ClusterWorld,
  proc: TimedWorker,
): Promise<{ worker: number[]; producer: number }> {
  const pid = proc.events.find((event) => event.event === "ready")?.pid;
  // The worker's connection is named after its node name, `<service>-<pid>@<host>`.
  const names = await nodesOf(w.cluster, `worker:${SERVICE}-${pid}@${hostname()}`);
  // One connection, found: a lookup that finds nothing must not pass for "not on that node".
  expect(names).toHaveLength(1);
  return {
    worker: names.map((name) => w.cluster.nodes.findIndex((node) => node.nodeName === name)),
    producer: w.cluster.urls.findIndex((url) => maskUrl(url) === w.producer.node),
  };
}

interface Check {
  id: string;
  status: string;
  detail: string;
  items?: string[];
}
/** `worker-toolbox doctor --json` with the world's settings, as a producer (no database). */
const doctor = async (w: ClusterWorld, ...flags: string[]) => {
  const { queue } = w.config;
  const result = await runCliCaptured(["doctor", "--json", "--no-database", "--service", SERVICE, ...flags], {
    AMQP_URL: own.cluster.url,
    RABBITMQ_MANAGEMENT_URL: own.cluster.managementUrls.join(","),
    WT_ENVIRONMENT_PREFIX: w.config.environment.prefix,
    WT_QUEUE_DELAY_RUNGS_MS: queue.delayRungsMs.join(","),
    ...(queue.replicas === undefined ? {} : { WT_QUEUE_REPLICAS: String(queue.replicas) }),
  });
  const checks = (JSON.parse(result.stdout) as { checks: Check[] }).checks;
  return { code: result.code, check: (id: string) => checks.find((c) => c.id === id), checks };
};
/** Poll the doctor until `accept` holds (the management API reports node changes within seconds). */
const doctorUntil = async (w: ClusterWorld, accept: (r: Awaited<ReturnType<typeof doctor>>) => boolean) => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const report = await doctor(w);
    if (accept(report)) return report;
    if (Date.now() > deadline) throw new Error(`doctor never showed it: ${JSON.stringify(report.checks)}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
};

/** While node `index` is stopped: the doctor names it, and the queues it held a member of. */
async function expectDoctorSeesNodeDown(w: ClusterWorld, index: number): Promise<void> {
  const node = own.cluster.nodes[index]!;
  const prefix = w.config.environment.prefix;
  const down = await doctorUntil(
    w,
    (r) =>
      r.check("cluster:nodes")?.status === "fail" && r.check(`quorum:${prefix}.${SERVICE}`) !== undefined,
  );
  expect(down.check("cluster:nodes")?.detail).toBe(`2 of 3 nodes running; down: ${node.nodeName}`);
  expect(down.code).toBe(1);
  expect(down.check(`quorum:${prefix}.${SERVICE}`)).toMatchObject({
    status: "warn",
    detail: `2 of 3 members online (down: ${node.nodeName}); losing 1 more makes it unavailable`,
  });
}

/**
 * Stop sending (once WT_CLUSTER_TASKS were sent), wait for every result, and check each resolved send is
 * stored exactly once.
 */
async function finish(w: ClusterWorld, sending: ReturnType<typeof startSending>) {
  while (sending.sent() < TASKS) await new Promise((resolve) => setTimeout(resolve, 100));
  const log = await sending.stop();
  await waitForResults(w.pool, log.resolved.length, 120_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  return { log, check: await checkEveryResolvedSendStoredOnce(w.pool, log.resolved) };
}

describe("failover on a 3-node cluster", () => {
  it("kill -9 of the node in use, restarted, then of the next: nothing lost or doubled, no send rejected", async () => {
    world = await createWorld(own.cluster, "failover");
    worker = startTimedWorker(world.config);
    await worker.ready;
    expect(await nodesInUse(world, worker)).toEqual({ worker: [0], producer: 0 });
    const sending = startSending(world.producer, RATE);
    await waitForResults(world.pool, RATE * 2, 60_000);

    const first = await failOver(world, worker, 0, "kill");
    expect(await nodesInUse(world, worker)).toEqual({ worker: [1], producer: 1 });
    await own.cluster.nodes[0]!.start();
    await own.cluster.awaitMembers();
    await waitForResults(world.pool, (await resultCount(world.pool)) + RATE * 2, 60_000);
    const second = await failOver(world, worker, 1, "kill");
    // Listed order: every round starts at node 1, which is back.
    expect(await nodesInUse(world, worker)).toEqual({ worker: [0], producer: 0 });
    await own.cluster.nodes[1]!.start();
    await own.cluster.awaitMembers();
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const { log, check } = await finish(world, sending);
    console.log(
      `[cluster-figures] kill -9: ${JSON.stringify({ rate: RATE, sent: log.resolved.length + log.rejected.length, resolved: log.resolved.length, rejected: log.rejected.length, maxSendLatencyMs: log.maxLatencyMs, first, second })}`,
    );
    expect(log.rejected).toEqual([]);
    expect(check).toEqual({ missing: [], duplicates: [], notSuccess: [], unexpected: 0 });
    expect(first.workerMs).toBeLessThan(10_000);
    expect(second.workerMs).toBeLessThan(10_000);
    // A resent copy of a stored task may still be on its way through the worker (it acks it without a
    // second row), and the management API samples every 5 s: the queue empties, not at once.
    const management = createManagementClient({ url: own.cluster.managementUrls });
    const queue = entityNames(world.config.environment.prefix).serviceQueue(SERVICE);
    await expect
      .poll(async () => (await management.getQueue("/", queue))?.messages ?? 0, {
        timeout: 30_000,
        interval: 1_000,
      })
      .toBe(0);
  }, 600_000);

  it("a rolling restart of all three nodes under load: nothing lost or doubled, no send rejected", async () => {
    world = await createWorld(own.cluster, "rolling", { replicas: 3 });
    worker = startTimedWorker(world.config);
    await worker.ready;
    const sending = startSending(world.producer, RATE);
    await waitForResults(world.pool, RATE * 2, 60_000);
    const restarts: { node: number; failover?: Awaited<ReturnType<typeof failOver>> }[] = [];
    for (const index of [0, 1, 2]) {
      await awaitQuorumOnline(own.cluster, world.config.environment.prefix);
      const inUse = await nodesInUse(world, worker);
      if (inUse.worker.includes(index) || inUse.producer === index) {
        restarts.push({ node: index, failover: await failOver(world, worker, index, "stop") });
      } else {
        await own.cluster.nodes[index]!.stop();
        restarts.push({ node: index });
        // A failed check must not leave the node down for the tests after it.
        await expectDoctorSeesNodeDown(world, index).finally(() => own.cluster.nodes[index]!.start());
      }
      await own.cluster.nodes[index]!.start();
      await own.cluster.awaitMembers();
      await waitForResults(world.pool, (await resultCount(world.pool)) + RATE, 60_000);
    }
    const { log, check } = await finish(world, sending);
    console.log(
      `[cluster-figures] rolling restart: ${JSON.stringify({ rate: RATE, resolved: log.resolved.length, rejected: log.rejected.length, maxSendLatencyMs: log.maxLatencyMs, restarts })}`,
    );
    expect(log.rejected).toEqual([]);
    expect(check).toEqual({ missing: [], duplicates: [], notSuccess: [], unexpected: 0 });
    for (const restart of restarts)
      if (restart.failover) expect(restart.failover.workerMs).toBeLessThan(10_000);
    expect(restarts.filter((restart) => restart.failover).length).toBeGreaterThan(0);
  }, 600_000);
});

describe("doctor on a 3-node cluster", () => {
  // A node down and its queues' missing members: checked during the rolling restart above.
  it("sees every node, the leaders on one node, a memory alarm, and 4.x readiness", async () => {
    world = await createWorld(own.cluster, "doctor", { replicas: 3 });
    await awaitQuorumOnline(own.cluster, world.config.environment.prefix);
    const healthy = await doctorUntil(world, (r) => r.check("quorum-members")?.status === "ok");
    expect(healthy.check("cluster:nodes")).toMatchObject({ status: "ok", detail: "3 nodes running" });
    expect(healthy.check("cluster:partitions")?.status).toBe("ok");
    expect(healthy.check("alarms")?.status).toBe("ok");
    // Declared through node 1 (listed order): every leader is there.
    expect(healthy.check("quorum-leaders")?.status).toBe("warn");
    // RabbitMQ 3.10 on Erlang 25 is not ready for 4.x: a warning, and a failure with --upgrade.
    expect(healthy.check("upgrade:rabbitmq-4")?.status).toBe("warn");
    expect(healthy.check("upgrade:rabbitmq-4")?.items).toContainEqual(
      expect.stringContaining("only from 3.13.x"),
    );
    const gate = await doctor(world, "--upgrade");
    expect(gate.check("upgrade:rabbitmq-4")?.status).toBe("fail");
    expect(gate.code).toBe(1);

    const second = own.cluster.nodes[1]!;
    await second.rabbitmqctl(["set_vm_memory_high_watermark", "0"]);
    try {
      const alarmed = await doctorUntil(world, (r) => r.check(`alarms:${second.nodeName}`) !== undefined);
      expect(alarmed.check(`alarms:${second.nodeName}`)).toMatchObject({
        status: "fail",
        detail: "memory alarm: publishers on every node are blocked",
      });
    } finally {
      await second.rabbitmqctl(["set_vm_memory_high_watermark", "0.4"]);
    }
  }, 300_000);
});
