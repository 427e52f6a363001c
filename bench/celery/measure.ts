/**
 * One measured run of bench/celery.ts: a fresh prefix and migrated database, warm-up + N messages queued,
 * then Python Celery's worker started on them; throughput from Celery's own date_done, then sequential
 * round trips seen through a NOTIFY trigger on the result table.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entityNames, parseConfig, planTopology } from "@worker-toolbox/config";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { guardedClient, guardedPool, migrate } from "@worker-toolbox/runtime/results";
import { applyTopology } from "@worker-toolbox/runtime/topology";
import { createTestDatabase, createTestNamespace, type TestDatabase } from "@worker-toolbox/testing";
import amqp from "amqplib";
import type pg from "pg";
import { celeryConfigOutput } from "../../test/support/celeryPython.js";
import { processTree, sumKb } from "../child.js";
import { round } from "../stats.js";
import { type CeleryPool, type CeleryWorker, sampleMemory, startCeleryWorker } from "./celeryWorker.js";

const SERVICE = "bench";
const TASK = "bench.noop";
export const PREFETCH = 500; // bench/worker.ts's

export interface CeleryBenchRow {
  pipeline: string;
  tasksPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Peak of the summed resident sets of the worker's processes. */
  rssMb: number;
  /** Summed resident sets once the worker is ready, before it has run anything. */
  idleRssMb: number;
  /** Peak of the summed proportional set sizes (shared pages counted once overall). */
  pssMb: number;
  processes: number;
}

interface Sizes {
  warmup: number;
  count: number;
  samples: number;
}

/** What one run opened: its database, prefix, broker channel and working directory. */
interface Run {
  db: TestDatabase;
  dbPool: pg.Pool;
  prefix: string;
  config: ReturnType<typeof parseConfig>;
  names: ReturnType<typeof entityNames>;
  connection: amqp.ChannelModel;
  channel: amqp.ConfirmChannel;
  listener: pg.Client;
  dir: string;
}

async function openRun(servers: { amqpUrl: string; databaseUrl: string }, pool: CeleryPool): Promise<Run> {
  const db = await createTestDatabase(servers.databaseUrl, `bench_celery_${pool}`);
  const dbPool = guardedPool({ connectionString: db.url, max: 2 });
  const prefix = createTestNamespace(`b-celery-${pool}`);
  const config = parseConfig({
    mode: "production",
    service: SERVICE,
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    database: { url: db.url },
    logLevel: "warn",
  });
  const names = entityNames(prefix);
  const connection = await amqp.connect(servers.amqpUrl);
  const channel = await connection.createConfirmChannel();
  const listener = guardedClient({ connectionString: db.url });
  const dir = mkdtempSync(join(tmpdir(), "wt-bench-celery-"));
  return { db, dbPool, prefix, config, names, connection, channel, listener, dir };
}

/** Publish task n (args [n]) as the toolbox's encoder writes it; its task id. */
function publish(run: Run, n: number): string {
  const { content, properties } = encodeTaskMessage(newTaskMessage({ task: TASK, args: [n] }));
  run.channel.publish(run.names.exchange, TASK, content, properties);
  return String(properties.headers.id);
}

/**
 * Migrate, declare, queue the backlog, and write the settings `celery-config` prints, with the toolbox's
 * prefetch per process spread over the pool's children (worker_prefetch_multiplier = prefetch / concurrency).
 */
async function prepare(run: Run, servers: { amqpUrl: string }, total: number, concurrency: number) {
  await migrate(run.dbPool, { schema: "public" });
  await applyTopology(run.channel, planTopology(run.config));
  for (let i = 0; i < total; i++) {
    publish(run, i);
    if (i % 1_000 === 999) await run.channel.waitForConfirms();
  }
  await run.channel.waitForConfirms();
  const settings = await celeryConfigOutput({
    prefix: run.prefix,
    service: SERVICE,
    amqpUrl: servers.amqpUrl,
    databaseUrl: run.db.url,
    env: { WT_WORKER_PREFETCH: String(PREFETCH), WT_WORKER_CONCURRENCY: String(concurrency) },
  });
  writeFileSync(join(run.dir, "wt_celery_bench_settings.py"), settings);
}

/** Wait until every queued task's row is stored; N / the window "warm-up-th row → last row", in tasks/s. */
async function throughput(run: Run, worker: CeleryWorker, sizes: Sizes): Promise<number> {
  const total = sizes.warmup + sizes.count;
  const stored = async () =>
    Number(
      (
        await run.dbPool.query<{ n: string }>(
          "SELECT count(*) AS n FROM celery_taskmeta WHERE status = 'SUCCESS'",
        )
      ).rows[0]?.n,
    );
  let progress = { n: -1, at: Date.now() };
  for (;;) {
    const n = await Promise.race([stored(), worker.exited]);
    if (n >= total) break;
    if (n > progress.n) progress = { n, at: Date.now() };
    else if (Date.now() - progress.at > 60_000)
      throw new Error(
        `the Celery worker stored no result for 60 s (${n}/${total}); its output:\n${worker.output()}`,
      );
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 250)), worker.exited]);
  }
  const { rows } = await run.dbPool.query<{ ms: number }>(
    `SELECT EXTRACT(EPOCH FROM (max(date_done) - (SELECT date_done FROM celery_taskmeta ORDER BY date_done
       OFFSET $1 LIMIT 1))) * 1000 AS ms FROM celery_taskmeta`,
    [Math.max(0, sizes.warmup - 1)],
  );
  const windowMs = Number(rows[0]?.ms);
  const measured = sizes.warmup > 0 ? sizes.count : sizes.count - 1;
  return measured / (windowMs / 1_000);
}

/** Sequential round trips after the throughput phase: publish → the row is visible to another session. */
async function roundTrips(run: Run, worker: CeleryWorker, from: number, samples: number): Promise<number[]> {
  await run.dbPool.query(`
    CREATE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_notify('bench_row', NEW.task_id); RETURN NULL; END $$;
    CREATE TRIGGER bench_notify AFTER INSERT ON celery_taskmeta FOR EACH ROW EXECUTE FUNCTION bench_notify();`);
  await run.listener.connect();
  const arrived = new Map<string, (at: number) => void>();
  run.listener.on("notification", (n) => arrived.get(n.payload ?? "")?.(performance.now()));
  await run.listener.query("LISTEN bench_row");
  const latencies: number[] = [];
  const warm = 10; // as bench/worker.ts: the first round trips after the throughput phase are not counted
  for (let i = 0; i < samples + warm; i++) {
    const started = performance.now();
    const id = publish(run, from + i);
    const visible = new Promise<number>((resolve) => arrived.set(id, resolve));
    const [at] = await Promise.race([Promise.all([visible, run.channel.waitForConfirms()]), worker.exited]);
    arrived.delete(id);
    if (i >= warm) latencies.push(at - started);
  }
  return latencies.sort((a, b) => a - b);
}

async function closeRun(run: Run, worker: CeleryWorker | undefined): Promise<void> {
  await worker?.stop();
  const plan = planTopology(run.config);
  for (const queue of plan.queues) await run.channel.deleteQueue(queue.name).catch(() => undefined);
  const celeryExchanges = [`${run.prefix}.celery`, `${run.prefix}.celeryev`, run.names.controlExchange];
  for (const exchange of [...plan.exchanges.map((e) => e.name), ...celeryExchanges])
    await run.channel.deleteExchange(exchange).catch(() => undefined);
  await run.connection.close().catch(() => undefined);
  await run.listener.end().catch(() => undefined);
  await run.dbPool.end();
  await run.db.drop();
  rmSync(run.dir, { recursive: true, force: true });
}

export async function measure(
  python: string,
  pool: CeleryPool,
  concurrency: number,
  servers: { amqpUrl: string; databaseUrl: string },
  sizes: Sizes,
): Promise<CeleryBenchRow> {
  const run = await openRun(servers, pool);
  let worker: CeleryWorker | undefined;
  try {
    const total = sizes.warmup + sizes.count;
    await prepare(run, servers, total, concurrency);
    const queue = run.names.serviceQueue(SERVICE);
    worker = startCeleryWorker(python, { pool, concurrency, dir: run.dir, queue, prefix: run.prefix });
    const memory = sampleMemory(worker.pid);
    try {
      await Promise.race([worker.ready, worker.exited]);
      const idleRss = sumKb(processTree(worker.pid), "status", "VmRSS");
      const tasksPerSecond = await throughput(run, worker, sizes);
      const latencies = await roundTrips(run, worker, total, sizes.samples);
      return {
        pipeline: pool === "solo" ? "celery-solo" : `celery-prefork-${concurrency}`,
        tasksPerSecond: Math.round(tasksPerSecond),
        p50Ms: round(latencies[Math.floor(latencies.length * 0.5)] ?? 0),
        p99Ms: round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
        rssMb: round(memory.peaks.rssMb),
        idleRssMb: round(idleRss),
        pssMb: round(memory.peaks.pssMb),
        processes: memory.peaks.processes,
      };
    } finally {
      memory.stop();
    }
  } finally {
    await closeRun(run, worker);
  }
}
