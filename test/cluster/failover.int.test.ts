import { hostname } from "node:os";
import { entityNames, maskUrl } from "@worker-toolbox/config";
import { afterEach, describe, expect, it } from "vitest";
import { createManagementClient } from "../../packages/runtime/src/management/client.js";
import { SERVICE } from "../fixtures/workers/tasks.js";
import {
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
 * Failover on a real 3-node cluster (one per file; the tests share it). Tasks are sent at a steady rate
 * while nodes are killed and restarted; every process lists the nodes in order, so the producer and the
 * worker both start on node 1, the node killed first. CI runs a lean version (WT_CLUSTER_RATE tasks per
 * second, default 25); docs/operations.md records a full-size run of 10,000 tasks.
 */
const RATE = Number(process.env.WT_CLUSTER_RATE ?? 25);
const own = useCluster();
let world: ClusterWorld | undefined;
let worker: TimedWorker | undefined;

afterEach(async () => {
  worker?.child.kill("SIGKILL");
  await worker?.exited;
  worker = undefined;
  await world?.close();
  world = undefined;
}, 60_000);

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
  const pid = proc.timed.find((t) => t.event.event === "ready")?.event.pid;
  const names = await nodesOf(w.cluster, `worker:${SERVICE}@${hostname()}:${pid}`);
  return {
    worker: names.map((name) => w.cluster.nodes.findIndex((node) => node.nodeName === name)),
    producer: w.cluster.urls.findIndex((url) => maskUrl(url) === w.producer.node),
  };
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

    const log = await sending.stop();
    await waitForResults(world.pool, log.resolved.length, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const check = await checkEveryResolvedSendStoredOnce(world.pool, log.resolved);
    console.log(
      `[cluster-figures] kill -9: ${JSON.stringify({ rate: RATE, sent: log.resolved.length + log.rejected.length, resolved: log.resolved.length, rejected: log.rejected.length, maxSendLatencyMs: log.maxLatencyMs, first, second })}`,
    );
    expect(log.rejected).toEqual([]);
    expect(check).toEqual({ missing: [], duplicates: [], notSuccess: [], unexpected: 0 });
    expect(first.workerMs).toBeLessThan(10_000);
    expect(second.workerMs).toBeLessThan(10_000);
    const queues = await createManagementClient({ url: own.cluster.managementUrls }).getQueue(
      "/",
      entityNames(world.config.environment.prefix).serviceQueue(SERVICE),
    );
    expect(queues?.messages ?? 0).toBe(0);
  }, 600_000);
});
