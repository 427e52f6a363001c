/** One measured end-to-end run: a system at a payload size, on a fresh database and prefix. */
import { readFileSync } from "node:fs";
import { entityNames, parseConfig, planTopology, type ToolboxConfigInput } from "@worker-toolbox/config";
import { guardedPool, migrate } from "@worker-toolbox/runtime/results";
import { applyTopology } from "@worker-toolbox/runtime/topology";
import { createTestDatabase, createTestNamespace, type LocalServers } from "@worker-toolbox/testing";
import amqp from "amqplib";
import { type Child, treeCpuSeconds } from "../child.js";
import type { RedisServer } from "../redis.js";
import { round } from "../stats.js";
import { type CeleryRun, celeryProducerEnv, prepareCelery } from "./celerySetup.js";
import { replacePlatformCopy } from "./platformCopy.js";
import { type Processes, startProcesses } from "./processes.js";
import { kindOf, type Settings, SYSTEMS, type System } from "./settings.js";

export interface E2eRow {
  system: System;
  payloadBytes: number;
  count: number;
  tasksPerSecond: number;
  publishPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU µs per task in the throughput window. */
  cpuProducerUs: number;
  cpuWorkerUs: number;
  /** RabbitMQ for the AMQP systems, Redis for BullMQ (null for servers this bench did not start). */
  cpuBrokerUs: number | null;
  /** PostgreSQL and its backends (null for BullMQ, and when DATABASE_URL names a server of someone else's). */
  cpuDatabaseUs: number | null;
  rssProducerMb: number;
  rssWorkerMb: number;
  /** With BENCH_E2E_TRACKER=on: the platform copy's reader (null without one). */
  cpuTrackerUs: number | null;
  rssTrackerMb: number | null;
  /** 1-minute load average when the run started: how busy the machine was. */
  load: number;
  /**
   * CPU µs per idle round trip (the whole round-trip phase, its warm-up trips included) of the producer, the
   * worker, the broker and the database: what one task costs when it travels alone. Only in the run's rows.
   */
  idleCpuUs?: { producer: number; worker: number; broker: number | null; database: number | null };
}

const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

/** The servers' process trees, for their CPU time. */
export interface ServerPids {
  rabbitmq: number[];
  postgres: number[];
  redis: number[];
}

function serverCpu(pids: number[]): number | null {
  return pids.length === 0 ? null : pids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
}

export interface World {
  servers: LocalServers;
  redis: RedisServer | undefined;
  pids: ServerPids;
  /** The Python with Celery, when the run includes it. */
  celeryPython: string | undefined;
}

/** Warm up, then the timed throughput phase, then the idle round trips. */
async function drive(world: World, system: System, count: number, p: Processes) {
  const { worker, producer, tracker } = p;
  p.producer.child.send("warm");
  await Promise.all([
    producer.child.next("warmed"),
    worker.child.next("warmed"),
    tracker?.child.next("warmed"),
  ]);
  const redis = SYSTEMS[kindOf(system)].server === "redis";
  const cpu = () => ({
    producer: producer.cpu(),
    worker: worker.cpu(),
    broker: serverCpu(redis ? world.pids.redis : world.pids.rabbitmq),
    database: serverCpu(redis ? [] : world.pids.postgres),
    tracker: tracker ? tracker.cpu() : null,
  });
  const before = cpu();
  const started = performance.now();
  producer.child.send("go");
  const [published] = await Promise.all([producer.child.next("published"), worker.child.next("drained")]);
  const seconds = (performance.now() - started) / 1_000;
  // The CPU window runs until the platform copies are stored too, so the broker's work for them is in it.
  await tracker?.child.next("drained");
  const after = cpu();
  producer.child.send("latency");
  const latencies = ((await producer.child.next("latency")).ms as number[]).sort((a, b) => a - b);
  const idle = cpu();
  const perTask = (a: number | null, b: number | null, n = count) =>
    a === null || b === null ? null : Math.round(((b - a) * 1e6) / n);
  const trips = latencies.length + 10; // the round trips, with common.mjs's WARM_SAMPLES
  return {
    tasksPerSecond: Math.round(count / seconds),
    publishPerSecond: Math.round(count / ((published.ms as number) / 1_000)),
    p50Ms: round(latencies[Math.floor(latencies.length * 0.5)] ?? 0),
    p99Ms: round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
    cpuProducerUs: perTask(before.producer, after.producer) ?? 0,
    cpuWorkerUs: perTask(before.worker, after.worker) ?? 0,
    cpuBrokerUs: perTask(before.broker, after.broker),
    cpuDatabaseUs: perTask(before.database, after.database),
    rssProducerMb: round(producer.peakMb()),
    rssWorkerMb: round(worker.peakMb()),
    cpuTrackerUs: perTask(before.tracker, after.tracker),
    rssTrackerMb: tracker ? round(tracker.peakMb()) : null,
    idleCpuUs: {
      producer: perTask(after.producer, idle.producer, trips) ?? 0,
      worker: perTask(after.worker, idle.worker, trips) ?? 0,
      broker: perTask(after.broker, idle.broker, trips),
      database: perTask(after.database, idle.database, trips),
    },
  };
}

export async function measure(
  world: World,
  system: System,
  payloadBytes: number,
  s: Settings,
  roundIndex: number,
): Promise<E2eRow> {
  const celery = system === "celery";
  const count = celery ? Math.min(s.count(payloadBytes), s.celeryCount) : s.count(payloadBytes);
  const load = loadAverage();
  const db = await createTestDatabase(world.servers.databaseUrl, `bench_e2e`);
  const prefix = createTestNamespace(`e2e-${system}`);
  const config: ToolboxConfigInput = {
    mode: "production",
    service: "bench",
    environment: { prefix },
    broker: { url: world.servers.amqpUrl },
    database: { url: db.url, poolSize: 5, resultExtended: system !== "toolbox@once" },
    worker: { prefetch: s.prefetch, concurrency: s.concurrency },
    logLevel: "warn",
  };
  const plan = planTopology(parseConfig(config));
  const rabbit = SYSTEMS[kindOf(system)].server === "rabbitmq";
  const connection = rabbit ? await amqp.connect(world.servers.amqpUrl) : undefined;
  const pool = guardedPool({ connectionString: db.url, max: 1 });
  const children: Child[] = [];
  let celeryRun: CeleryRun | undefined;
  try {
    await migrate(pool, { schema: "public" });
    if (connection) await applyTopology(await connection.createChannel(), plan);
    if (connection && system.startsWith("raw-") && system.includes("@"))
      await replacePlatformCopy(connection, prefix, system);
    if (celery) celeryRun = await prepareCelery(world.celeryPython!, config, s.prefetch);
    const run = {
      config,
      payloadBytes,
      warmup: Math.ceil(count / 10),
      count,
      samples: celery ? Math.min(s.samples, s.celerySamples) : s.samples,
      redis: world.redis ? { host: world.redis.host, port: world.redis.port } : undefined,
      celery: celeryRun?.forWorker,
    };
    const env = {
      BENCH_E2E: JSON.stringify(run),
      // toolbox.mjs imports the packages from here when set (`toolbox-base`), else from this checkout.
      BENCH_E2E_PACKAGES: system === "toolbox-base" ? process.env.BENCH_E2E_BASE : "",
      ...(celeryRun ? celeryProducerEnv(celeryRun) : {}),
    };
    const processes = await startProcesses(system, payloadBytes, s, roundIndex, env, children);
    const figures = await drive(world, system, count, processes);
    await Promise.all(children.map((child) => child.stop()));
    return { system, payloadBytes, count, ...figures, load };
  } finally {
    for (const child of children) child.kill();
    if (connection) {
      const channel = await connection.createChannel();
      for (const queue of plan.queues) await channel.deleteQueue(queue.name).catch(() => undefined);
      const celeryExchanges = [`${prefix}.celery`, `${prefix}.celeryev`, entityNames(prefix).controlExchange];
      for (const exchange of [...plan.exchanges.map((e) => e.name), ...celeryExchanges])
        await channel.deleteExchange(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
    celeryRun?.cleanup();
    await world.redis?.flushAll();
    await pool.end();
    await db.drop();
  }
}
