/**
 * Worker benchmark: publish → execute a no-op → result row committed → ack, for the toolbox worker and two
 * raw amqplib + pg pipelines doing the same work (see bench/workerConsumer.mjs for what each one does).
 *
 * Fairness: every consumer is its own `node` process running BUILT JavaScript (run `npm run build` first),
 * started one after another against the same servers, each on a fresh prefix (same quorum-queue topology)
 * and a fresh, migrated database, with the same prefetch, pool size, payload and message count. Rounds
 * interleave the pipelines (single, batched, toolbox, single, ...) so slow drifts in machine load hit all of
 * them; every figure is the median over the rounds.
 *
 *   throughput  warm-up + N messages are queued before the consumer starts; the consumer times the window
 *               "warm-up messages acked → all acked" and reports N / window;
 *   round trip  then, one task at a time: publish → the row's INSERT is visible to another session (an
 *               AFTER INSERT trigger NOTIFYs the publisher's LISTEN connection at COMMIT), measured on the
 *               publisher's clock; the trigger is created only after the throughput phase;
 *   RSS         peak resident set of the consumer process (VmHWM from /proc/<pid>/status), and its
 *               resident set right after it connected (VmRSS at "ready").
 *
 *   npm run build && npm run bench          (BENCH_ONLY=worker for this one)
 * Env: BENCH_WORKER_COUNT (20000), BENCH_WORKER_WARMUP (2000), BENCH_WORKER_LATENCY_SAMPLES (300),
 * BENCH_WORKER_ROUNDS (3), BENCH_WORKER_PIPELINES (comma-separated subset), BENCH_WORKER_BASE (the root of
 * another checkout with built packages: adds its worker as `toolbox-base`), BENCH_CONSUMER_NODE_ARGS
 * (extra node flags for the consumers, e.g. --cpu-prof), AMQP_URL / DATABASE_URL (default: throwaway
 * local servers, started once).
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { guardedClient, guardedPool } from "@worker-toolbox/runtime/results";
import { createTestDatabase, createTestNamespace, startLocalServers } from "@worker-toolbox/testing";
import amqp from "amqplib";
import { procMemory, rootsByCommandLine, startChild, treeCpuSeconds } from "./child.js";
import { medianRows, round } from "./stats.js";

const SERVICE = "bench";
const TASK = "bench.noop";
const PREFETCH = Number(process.env.BENCH_WORKER_PREFETCH ?? 500);
const PIPELINES = ["raw-single", "raw-batched", "toolbox"] as const;
/** With BENCH_WORKER_BASE=<another checkout, built>: its toolbox worker too, interleaved (an A/B in one run). */
type Pipeline = (typeof PIPELINES)[number] | "toolbox-base" | "baseline";
const CONSUMER = fileURLToPath(new URL("./workerConsumer.mjs", import.meta.url));
const BUILT = fileURLToPath(new URL("../packages/runtime/dist/index.js", import.meta.url));

export interface WorkerBenchRow {
  pipeline: Pipeline;
  tasksPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Peak resident set of the consumer process. */
  rssMb: number;
  /** Resident set once connected and subscribed, before the first message. */
  idleRssMb: number;
  /** Write transactions per 1,000 tasks during the throughput phase (how well rows are batched). */
  commitsPerKTask: number;
  /** CPU µs per task during the throughput window: the consumer's own (process.cpuUsage), RabbitMQ's. */
  cpuUs: number;
  brokerUs: number | null;
}

/** The throwaway servers' root processes (none when AMQP_URL / DATABASE_URL point elsewhere). */
type Servers = { amqpUrl: string; databaseUrl: string; started: boolean; brokerPids: number[] };

const serverCpu = (pids: number[]) => pids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);

/** Config input (parsed in the consumer by the built parseConfig, so source edits cannot skew it). */
type ConfigInput = Record<string, unknown>;

function benchConfig(prefix: string, amqpUrl: string, databaseUrl: string): ConfigInput {
  return {
    mode: "production",
    service: SERVICE,
    environment: { prefix },
    broker: { url: amqpUrl },
    database: { url: databaseUrl, poolSize: 5 },
    worker: { prefetch: PREFETCH, concurrency: 64, resultBatchSize: 100, resultBatchWaitMs: 2 },
    logLevel: "warn",
  };
}

/** A consumer process and its line-delimited JSON events. */
function startConsumer(pipeline: Pipeline | "setup", config: ConfigInput, warmup: number, count: number) {
  // BENCH_CONSUMER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", goes to the consumer's node.
  const nodeArgs = process.env.BENCH_CONSUMER_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  return startChild(
    `${pipeline} consumer`,
    process.execPath,
    [...nodeArgs, CONSUMER, pipeline, String(warmup), String(count)],
    { BENCH_CONFIG: JSON.stringify(config) },
  );
}

async function measure(
  pipeline: Pipeline,
  servers: Servers,
  sizes: { warmup: number; count: number; samples: number },
): Promise<WorkerBenchRow> {
  const db = await createTestDatabase(servers.databaseUrl, `bench_${pipeline}`);
  const pool = guardedPool({ connectionString: db.url, max: 2 });
  const prefix = createTestNamespace(`b-${pipeline}`);
  const config = benchConfig(prefix, servers.amqpUrl, db.url);
  const connection = await amqp.connect(servers.amqpUrl);
  const channel = await connection.createConfirmChannel();
  const listener = guardedClient({ connectionString: db.url });
  let entities = { exchange: "", queues: [] as string[], exchanges: [] as string[] };
  try {
    // Migrate and declare with the built packages, as the consumers run them.
    entities = (await startConsumer("setup", config, 0, 0).next("setup")) as typeof entities;
    const publish = (n: number) => {
      const { content, properties } = encodeTaskMessage(newTaskMessage({ task: TASK, args: [n] }));
      channel.publish(entities.exchange, TASK, content, properties);
      return String(properties.headers.id);
    };
    if (pipeline !== "baseline") {
      for (let i = 0; i < sizes.warmup + sizes.count; i++) {
        publish(i);
        if (i % 1_000 === 999) await channel.waitForConfirms();
      }
      await channel.waitForConfirms();
    }

    // Write transactions, counted by the transaction ids they take (cluster-wide: on shared servers other
    // writers count too). pg_stat_database's xact_commit would lag by up to 10 s.
    const commits = async () => {
      const { rows } = await pool.query<{ n: string }>(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS n",
      );
      return Number(rows[0]?.n ?? 0);
    };
    const commitsBefore = await commits();
    const consumer = startConsumer(pipeline, config, sizes.warmup, sizes.count);
    await consumer.next("ready");
    const idle = procMemory(consumer.pid);
    if (pipeline !== "baseline") await consumer.next("warm");
    const brokerBefore = serverCpu(servers.brokerPids);
    const drained = await consumer.next("drained");
    const brokerSeconds = serverCpu(servers.brokerPids) - brokerBefore;
    const commitsDuring = (await commits()) - commitsBefore;
    if (process.env.BENCH_VERBOSE) console.log(pipeline, JSON.stringify(drained));
    const tasksPerSecond = pipeline === "baseline" ? 0 : sizes.count / ((drained.ms as number) / 1_000);

    const latencies: number[] = [];
    if (pipeline !== "baseline") {
      await pool.query(`
        CREATE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN PERFORM pg_notify('bench_row', NEW.task_id); RETURN NULL; END $$;
        CREATE TRIGGER bench_notify AFTER INSERT ON celery_taskmeta FOR EACH ROW EXECUTE FUNCTION bench_notify();`);
      await listener.connect();
      const arrived = new Map<string, (at: number) => void>();
      listener.on("notification", (n) => arrived.get(n.payload ?? "")?.(performance.now()));
      await listener.query("LISTEN bench_row");
      const warm = 10; // the first round trips after the throughput phase are not counted
      for (let i = 0; i < sizes.samples + warm; i++) {
        const started = performance.now();
        const id = publish(sizes.warmup + sizes.count + i);
        const visible = new Promise<number>((resolve) => arrived.set(id, resolve));
        const [at] = await Promise.all([visible, channel.waitForConfirms()]);
        arrived.delete(id);
        if (i >= warm) latencies.push(at - started);
      }
    }
    latencies.sort((a, b) => a - b);
    const peak = procMemory(consumer.pid);
    await consumer.stop();
    return {
      pipeline,
      tasksPerSecond: Math.round(tasksPerSecond),
      p50Ms: round(latencies[Math.floor(latencies.length * 0.5)] ?? 0),
      p99Ms: round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
      rssMb: round(peak.hwmMb),
      idleRssMb: round(idle.rssMb),
      commitsPerKTask: Math.round((commitsDuring / (sizes.warmup + sizes.count)) * 1_000),
      cpuUs: Math.round((((drained.cpuMs as number | undefined) ?? 0) * 1_000) / sizes.count),
      brokerUs: servers.brokerPids.length ? Math.round((brokerSeconds * 1e6) / sizes.count) : null,
    };
  } finally {
    for (const queue of entities.queues) await channel.deleteQueue(queue).catch(() => undefined);
    for (const exchange of entities.exchanges) await channel.deleteExchange(exchange).catch(() => undefined);
    await connection.close().catch(() => undefined);
    await listener.end().catch(() => undefined);
    await pool.end();
    await db.drop();
  }
}

export async function benchWorker(
  count = Number(process.env.BENCH_WORKER_COUNT ?? 20_000),
  samples = Number(process.env.BENCH_WORKER_LATENCY_SAMPLES ?? 300),
  rounds = Number(process.env.BENCH_WORKER_ROUNDS ?? 3),
  warmup = Number(process.env.BENCH_WORKER_WARMUP ?? 2_000),
): Promise<WorkerBenchRow[]> {
  if (!existsSync(BUILT))
    throw new Error("bench/worker.ts runs the built packages: run `npm run build` first");
  const only = process.env.BENCH_WORKER_PIPELINES?.split(",").map((p) => p.trim());
  const base = process.env.BENCH_WORKER_BASE ? (["toolbox-base"] as const) : [];
  const pipelines = ([...PIPELINES, ...base, "baseline"] as Pipeline[]).filter(
    (p) => !only || only.includes(p),
  );
  const local = await startLocalServers();
  const servers: Servers = {
    ...local,
    brokerPids: local.rabbitmq ? rootsByCommandLine(local.rabbitmq.dir) : [],
  };
  try {
    const runs: WorkerBenchRow[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const pipeline of pipelines) {
        // Baseline memory does not vary with load: once is enough.
        if (pipeline === "baseline" && r > 0) continue;
        const row = await measure(pipeline, servers, { warmup, count, samples });
        console.log(`round ${r + 1}: ${JSON.stringify(row)}`);
        runs.push(row);
      }
    }
    const rows = medianRows(runs, pipelines, ["tasksPerSecond"]);
    console.log(`load average at the end: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
    console.log(
      `\nWorker: ${count} no-op tasks after ${warmup} warm-up (prefetch ${PREFETCH}), ${samples} sequential ` +
        `round trips; median of ${rounds} round(s); servers ${servers.started ? "throwaway" : "from AMQP_URL/DATABASE_URL"}`,
    );
    console.table(rows);
    const find = (p: Pipeline) => rows.find((row) => row.pipeline === p);
    const [single, batched] = [find("raw-single"), find("raw-batched")];
    for (const toolbox of [find("toolbox"), find("toolbox-base")]) {
      if (!single || !batched || !toolbox) continue;
      const throughput = toolbox.tasksPerSecond / batched.tasksPerSecond;
      const p50 = toolbox.p50Ms / single.p50Ms;
      const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
      console.log(
        `${toolbox.pipeline} throughput ${throughput.toFixed(2)}x raw-batched (target >= 0.9x: ${verdict(throughput >= 0.9)}); ` +
          `p50 ${p50.toFixed(2)}x raw-single (target <= 1.5x: ${verdict(p50 <= 1.5)}); ` +
          `peak RSS ${toolbox.rssMb} MB (target < 100 MB: ${verdict(toolbox.rssMb < 100)}; ` +
          `raw-batched ${batched.rssMb} MB, ${(toolbox.rssMb / batched.rssMb).toFixed(2)}x)`,
      );
    }
    return rows;
  } finally {
    await local.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchWorker();
}
