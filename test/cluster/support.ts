import { parseConfig, type ToolboxConfig, type ToolboxConfigInput } from "@worker-toolbox/config";
import {
  connectionNodes,
  createTestDatabase,
  createTestNamespace,
  type RabbitMQCluster,
  startRabbitMQCluster,
  type TestDatabase,
} from "@worker-toolbox/testing";
import type pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { createManagementClient } from "../../packages/runtime/src/management/client.js";
import { createProducer } from "../../packages/runtime/src/producer/index.js";
import type { Producer } from "../../packages/runtime/src/producer/types.js";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { spawnWorker, type WorkerProcess } from "../fixtures/workers/spawnWorker.js";
import { contracts, echo, SERVICE } from "../fixtures/workers/tasks.js";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";
import { testLogger } from "../worker/harness.js";

/**
 * One 3-node RabbitMQ cluster per test file (starting three Erlang nodes is the expensive part), a fresh
 * result database per test, and the producer, worker process and send loop the fault scenarios drive.
 */
export interface ClusterWorld {
  cluster: RabbitMQCluster;
  config: ToolboxConfig;
  pool: pg.Pool;
  producer: Producer;
  close(): Promise<void>;
}

export function useCluster(): { readonly cluster: RabbitMQCluster } {
  let cluster: RabbitMQCluster | undefined;
  beforeAll(async () => {
    cluster = await startRabbitMQCluster({ nodes: 3 });
  }, 300_000);
  afterAll(async () => {
    await cluster?.dispose();
  }, 120_000);
  return {
    get cluster() {
      return cluster!;
    },
  };
}

/** A world on `cluster`: every process lists the nodes in order, so all start on node 1 (listed order). */
export async function createWorld(
  cluster: RabbitMQCluster,
  label: string,
  queue: Partial<ToolboxConfigInput["queue"]> = {},
): Promise<ClusterWorld> {
  const db: TestDatabase = await createTestDatabase(testServers().databaseUrl, label);
  const pool = testPool({ connectionString: db.url, max: 4 });
  pool.on("error", () => undefined);
  await migrate(pool, { schema: "public" });
  const config = parseConfig({
    mode: "test",
    service: SERVICE,
    environment: { prefix: createTestNamespace(label) },
    broker: {
      url: cluster.url,
      failoverOrder: "listed",
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 1_000,
    },
    database: { url: db.url, poolSize: 5 },
    queue: { delayRungsMs: [100, 200, 400, 800, 1_600, 3_200], ...queue },
    worker: { prefetch: 200, concurrency: 32, shutdownGraceMs: 5_000 },
    producer: { publishTimeoutMs: 20_000 },
    logLevel: "silent",
  });
  const producer = createProducer({ config, contracts, logger: testLogger, name: `cluster:${label}` });
  await producer.ready(60_000);
  return {
    cluster,
    config,
    pool,
    producer,
    async close() {
      await producer.close();
      await pool.end();
      await db.drop();
    },
  };
}

/** A worker process with the time each of its events arrived. */
export interface TimedWorker extends WorkerProcess {
  timed: { at: number; event: Record<string, unknown> }[];
  /** Resolves at the first `state: ready` event after `since` (epoch ms), with its arrival time. */
  readyAfter(since: number, timeoutMs?: number): Promise<number>;
}

export function startTimedWorker(config: ToolboxConfig): TimedWorker {
  const proc = spawnWorker(config);
  const timed: TimedWorker["timed"] = [];
  let seen = 0;
  const collect = () => {
    for (; seen < proc.events.length; seen++) timed.push({ at: Date.now(), event: proc.events[seen]! });
  };
  proc.child.stdout?.on("data", () => setImmediate(collect));
  return Object.assign(proc, {
    timed,
    async readyAfter(since: number, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        collect();
        const ready = timed.find(
          (t) => t.at >= since && t.event.event === "state" && t.event.state === "ready",
        );
        if (ready) return ready.at;
        if (Date.now() > deadline)
          throw new Error(`the worker was not consuming again within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  });
}

/** What became of every send: resolved ids, and rejections with their code and time. */
export interface SendLog {
  resolved: string[];
  rejected: { code: string; at: number; message: string }[];
  /** Slowest send (call to settle), in ms. */
  maxLatencyMs: number;
}

/**
 * Send echo tasks at `perSecond` (in ticks of 20 ms) until `stop()`, which resolves once every send has
 * settled; `sent()` counts the sends made so far.
 */
export function startSending(
  producer: Producer,
  perSecond: number,
): { log: SendLog; sent(): number; stop(): Promise<SendLog> } {
  const log: SendLog = { resolved: [], rejected: [], maxLatencyMs: 0 };
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  let credit = 0;
  const tick = 20;
  const timer = setInterval(() => {
    credit += (perSecond * tick) / 1000;
    for (; credit >= 1; credit--) {
      const started = Date.now();
      const send: Promise<void> = producer.send(echo, [n++]).then(
        (receipt) => {
          log.resolved.push(receipt.id);
        },
        (error: { code?: string; message?: string }) => {
          log.rejected.push({ code: error.code ?? "?", at: Date.now(), message: error.message ?? "" });
        },
      );
      const settled = send.finally(() => {
        log.maxLatencyMs = Math.max(log.maxLatencyMs, Date.now() - started);
        inFlight.delete(settled);
      });
      inFlight.add(settled);
    }
  }, tick);
  return {
    log,
    sent: () => n,
    async stop() {
      clearInterval(timer);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      return log;
    },
  };
}

export async function resultCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM celery_taskmeta");
  return Number(rows[0]?.n);
}

/** Polls until at least `atLeast` result rows exist; resolves with the time that happened. */
export async function waitForResults(pool: pg.Pool, atLeast: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  for (;;) {
    last = await resultCount(pool).catch(() => last);
    if (last >= atLeast) return Date.now();
    if (Date.now() > deadline) throw new Error(`only ${last} of ${atLeast} results within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The node names the connections called `name` use, once the management API lists them (its stats lag ~5 s). */
export async function nodesOf(cluster: RabbitMQCluster, name: string, timeoutMs = 45_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const url = cluster.nodes.find((node) => node.running)!.managementUrl;
    const nodes = await connectionNodes(url, name).catch(() => []);
    if (nodes.length > 0 || Date.now() > deadline) return nodes;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every resolved send has exactly one SUCCESS row; no row for anything else. */
export async function checkEveryResolvedSendStoredOnce(pool: pg.Pool, resolved: readonly string[]) {
  const { rows } = await pool.query<{ task_id: string; status: string; n: string }>(
    "SELECT task_id, min(status) AS status, count(*) AS n FROM celery_taskmeta GROUP BY task_id",
  );
  const byId = new Map(rows.map((row) => [row.task_id, row]));
  return {
    missing: resolved.filter((id) => !byId.has(id)),
    duplicates: rows.filter((row) => Number(row.n) > 1).map((row) => row.task_id),
    notSuccess: rows.filter((row) => row.status !== "SUCCESS").map((row) => row.task_id),
    unexpected: rows.length - resolved.filter((id) => byId.has(id)).length,
  };
}

/** Resolves once every quorum queue of `prefix` has all its members online (after a node rejoined). */
export async function awaitQuorumOnline(
  cluster: RabbitMQCluster,
  prefix: string,
  timeoutMs = 60_000,
): Promise<void> {
  const client = createManagementClient({ url: [...cluster.managementUrls] });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const queues = await client.listQueues("/").catch(() => []);
    const ours = queues.filter((queue) => queue.name.startsWith(`${prefix}.`) && queue.type === "quorum");
    const lagging = ours.filter((queue) => (queue.online ?? []).length < (queue.members ?? []).length);
    if (ours.length > 0 && lagging.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `quorum queues still missing members after ${timeoutMs} ms: ${lagging.map((q) => q.name).join(", ")}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
