/**
 * The worker benchmark's workload (bench/worker.ts: publish → execute a no-op → result row committed → ack)
 * executed by Python Celery's own worker (Debian's python3-celery), configured with what
 * `worker-toolbox celery-config` prints for the environment: late acks, task_reject_on_worker_lost, JSON,
 * the quorum service queue, and the database result backend (`db+postgresql://`) on the same PostgreSQL.
 * The only change is task_track_started = False (bench/celery_bench.py), as the toolbox writes no STARTED row.
 *
 * Like bench/worker.ts: a fresh prefix and migrated database per run, the same quorum-queue topology, the
 * same message (a Celery v2 message from the toolbox's encoder, args [n]), total prefetch 500
 * (worker_prefetch_multiplier × concurrency), warm-up + N messages queued before the worker starts.
 *   throughput  N / the window "warm-up-th row stored → last row stored", read from Celery's own date_done
 *               (Python's clock, set just before each row's INSERT is committed and the message acked);
 *   round trip  then one task at a time: publish → the row is visible to another session (an AFTER INSERT
 *               trigger NOTIFYs a LISTEN connection at COMMIT), on the publisher's clock;
 *   RSS         the sum over the worker's processes (main + pool children), sampled every 50 ms: peak and
 *               right after the worker is ready. PSS (proportional: shared pages split between the
 *               processes that share them) is reported too, since prefork children share the parent's pages.
 *
 *   npm run bench (BENCH_ONLY=celery)    or    npm run build && npx tsx bench/celery.ts
 * Env: BENCH_CELERY_POOLS ("prefork"; "prefork,solo" adds the solo pool, slow: see bench/README.md), BENCH_CELERY_CONCURRENCY (prefork children, 2),
 * BENCH_CELERY_ROUNDS (1), BENCH_WORKER_COUNT (20000), BENCH_WORKER_WARMUP (2000),
 * BENCH_WORKER_LATENCY_SAMPLES (300), CELERY_PYTHON, AMQP_URL / DATABASE_URL (default: throwaway servers).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { entityNames, parseConfig, planTopology } from "@worker-toolbox/config";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { migrate } from "@worker-toolbox/runtime/results";
import { applyTopology } from "@worker-toolbox/runtime/topology";
import { createTestDatabase, createTestNamespace, startLocalServers } from "@worker-toolbox/testing";
import amqp from "amqplib";
import pg from "pg";
import { celeryConfigOutput, findCeleryPython, warnCeleryMissing } from "../test/support/celeryPython.js";
import { processTree, sumKb } from "./child.js";
import { medianRows, round } from "./stats.js";

const SERVICE = "bench";
const TASK = "bench.noop";
const PREFETCH = 500; // bench/worker.ts's
const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));

type Pool = "prefork" | "solo";

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

// ---------------------------------------------------------------- one measured run

async function measure(
  python: string,
  pool: Pool,
  concurrency: number,
  servers: { amqpUrl: string; databaseUrl: string },
  sizes: { warmup: number; count: number; samples: number },
): Promise<CeleryBenchRow> {
  const db = await createTestDatabase(servers.databaseUrl, `bench_celery_${pool}`);
  const dbPool = new pg.Pool({ connectionString: db.url, max: 2 });
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
  const listener = new pg.Client({ connectionString: db.url });
  const dir = mkdtempSync(join(tmpdir(), "wt-bench-celery-"));
  let worker: ChildProcess | undefined;
  let log = "";
  try {
    await migrate(dbPool, { schema: "public" });
    await applyTopology(channel, planTopology(config));
    const publish = (n: number) => {
      const { content, properties } = encodeTaskMessage(newTaskMessage({ task: TASK, args: [n] }));
      channel.publish(names.exchange, TASK, content, properties);
      return String(properties.headers.id);
    };
    const total = sizes.warmup + sizes.count;
    for (let i = 0; i < total; i++) {
      publish(i);
      if (i % 1_000 === 999) await channel.waitForConfirms();
    }
    await channel.waitForConfirms();

    // The printed settings, with the toolbox's prefetch per process spread over the pool's children
    // (celery-config turns it into worker_prefetch_multiplier = prefetch / concurrency).
    const settings = await celeryConfigOutput({
      prefix,
      service: SERVICE,
      amqpUrl: servers.amqpUrl,
      databaseUrl: db.url,
      env: { WT_WORKER_PREFETCH: String(PREFETCH), WT_WORKER_CONCURRENCY: String(concurrency) },
    });
    writeFileSync(join(dir, "wt_celery_bench_settings.py"), settings);

    const args = ["-m", "celery", "-A", "celery_bench", "worker", "--pool", pool, "--concurrency"];
    args.push(String(concurrency), "-Q", names.serviceQueue(SERVICE), "-n", `bench-${prefix}@localhost`);
    args.push("--without-mingle", "--without-gossip", "--without-heartbeat", "--loglevel", "WARNING");
    const child = spawn(python, args, {
      cwd: dir,
      env: {
        ...process.env,
        PYTHONPATH: [dir, BENCH_DIR].join(":"),
        WT_CELERY_SETTINGS: "wt_celery_bench_settings",
        PYTHONDONTWRITEBYTECODE: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    worker = child;
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code, signal) =>
        reject(new Error(`the Celery worker exited (${code ?? signal}); its output:\n${log}`)),
      ),
    );
    exited.catch(() => undefined);
    const ready = new Promise<void>((resolve) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('{"event": "ready"}')) resolve();
      });
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    const pid = child.pid as number;

    let peakRss = 0;
    let peakPss = 0;
    let processes = 0;
    let ticks = 0;
    const sampler = setInterval(() => {
      const tree = processTree(pid);
      processes = Math.max(processes, tree.length);
      peakRss = Math.max(peakRss, sumKb(tree, "status", "VmRSS"));
      // smaps_rollup walks the page tables: every 10th tick is enough.
      if (ticks++ % 10 === 0) peakPss = Math.max(peakPss, sumKb(tree, "smaps_rollup", "Pss"));
    }, 50);
    try {
      await Promise.race([ready, exited]);
      const idleRss = sumKb(processTree(pid), "status", "VmRSS");

      const stored = async () =>
        Number(
          (
            await dbPool.query<{ n: string }>(
              "SELECT count(*) AS n FROM celery_taskmeta WHERE status = 'SUCCESS'",
            )
          ).rows[0]?.n,
        );
      let progress = { n: -1, at: Date.now() };
      for (;;) {
        const n = await Promise.race([stored(), exited]);
        if (n >= total) break;
        if (n > progress.n) progress = { n, at: Date.now() };
        else if (Date.now() - progress.at > 60_000)
          throw new Error(`the Celery worker stored no result for 60 s (${n}/${total}); its output:\n${log}`);
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 250)), exited]);
      }
      const { rows } = await dbPool.query<{ ms: number }>(
        `SELECT EXTRACT(EPOCH FROM (max(date_done) - (SELECT date_done FROM celery_taskmeta ORDER BY date_done
           OFFSET $1 LIMIT 1))) * 1000 AS ms FROM celery_taskmeta`,
        [Math.max(0, sizes.warmup - 1)],
      );
      const windowMs = Number(rows[0]?.ms);
      const measured = sizes.warmup > 0 ? sizes.count : sizes.count - 1;
      const tasksPerSecond = measured / (windowMs / 1_000);

      await dbPool.query(`
        CREATE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN PERFORM pg_notify('bench_row', NEW.task_id); RETURN NULL; END $$;
        CREATE TRIGGER bench_notify AFTER INSERT ON celery_taskmeta FOR EACH ROW EXECUTE FUNCTION bench_notify();`);
      await listener.connect();
      const arrived = new Map<string, (at: number) => void>();
      listener.on("notification", (n) => arrived.get(n.payload ?? "")?.(performance.now()));
      await listener.query("LISTEN bench_row");
      const latencies: number[] = [];
      const warm = 10; // as bench/worker.ts: the first round trips after the throughput phase are not counted
      for (let i = 0; i < sizes.samples + warm; i++) {
        const started = performance.now();
        const id = publish(total + i);
        const visible = new Promise<number>((resolve) => arrived.set(id, resolve));
        const [at] = await Promise.race([Promise.all([visible, channel.waitForConfirms()]), exited]);
        arrived.delete(id);
        if (i >= warm) latencies.push(at - started);
      }
      latencies.sort((a, b) => a - b);
      return {
        pipeline: pool === "solo" ? "celery-solo" : `celery-prefork-${concurrency}`,
        tasksPerSecond: Math.round(tasksPerSecond),
        p50Ms: round(latencies[Math.floor(latencies.length * 0.5)] ?? 0),
        p99Ms: round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
        rssMb: round(peakRss),
        idleRssMb: round(idleRss),
        pssMb: round(peakPss),
        processes,
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      const gone = new Promise((resolve) => worker!.once("exit", resolve));
      worker.kill("SIGTERM"); // warm shutdown
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL");
    }
    for (const queue of planTopology(config).queues)
      await channel.deleteQueue(queue.name).catch(() => undefined);
    const celeryExchanges = [`${prefix}.celery`, `${prefix}.celeryev`, names.controlExchange];
    for (const exchange of [...planTopology(config).exchanges.map((e) => e.name), ...celeryExchanges])
      await channel.deleteExchange(exchange).catch(() => undefined);
    await connection.close().catch(() => undefined);
    await listener.end().catch(() => undefined);
    await dbPool.end();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** undefined (after a loud warning) when no python with celery, sqlalchemy and psycopg2 is installed. */
export async function benchCelery(
  count = Number(process.env.BENCH_WORKER_COUNT ?? 20_000),
  samples = Number(process.env.BENCH_WORKER_LATENCY_SAMPLES ?? 300),
  warmup = Number(process.env.BENCH_WORKER_WARMUP ?? 2_000),
  rounds = Number(process.env.BENCH_CELERY_ROUNDS ?? 1),
): Promise<CeleryBenchRow[] | undefined> {
  const celery = findCeleryPython();
  if (!celery.found) {
    warnCeleryMissing("the Python Celery worker benchmark", celery.reason);
    return undefined;
  }
  const pools = (process.env.BENCH_CELERY_POOLS ?? "prefork").split(",").map((p) => p.trim()) as Pool[];
  const children = Number(process.env.BENCH_CELERY_CONCURRENCY ?? 2);
  const servers = await startLocalServers();
  try {
    const runs: CeleryBenchRow[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const pool of pools) {
        const row = await measure(celery.python, pool, pool === "solo" ? 1 : children, servers, {
          warmup,
          count,
          samples,
        });
        console.log(`round ${r + 1}: ${JSON.stringify(row)}`);
        runs.push(row);
      }
    }
    const rows = medianRows(runs, [...new Set(runs.map((run) => run.pipeline))], ["tasksPerSecond"]);
    console.log(
      `\nPython Celery ${celery.celeryVersion} worker (${celery.python}): ${count} no-op tasks after ${warmup} ` +
        `warm-up (total prefetch ${PREFETCH}, acks_late, database backend), ${samples} sequential round trips; ` +
        `median of ${rounds} round(s); servers ${servers.started ? "throwaway" : "from AMQP_URL/DATABASE_URL"}`,
    );
    console.table(rows);
    return rows;
  } finally {
    await servers.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchCelery();
}
