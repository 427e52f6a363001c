/**
 * Worker benchmark: publish → execute a no-op → result row → ack, for the toolbox worker and two raw
 * amqplib + pg pipelines doing the same work, side by side in one run:
 *   raw-single   per message: INSERT the row, then ack it;
 *   raw-batched  up to 100 rows per multi-row INSERT in one transaction, then one ack(allUpTo) after COMMIT.
 * Each pipeline runs in its own Node process (so its RSS is its own) against a fresh prefix and database:
 *   throughput  N messages are queued first; the consumer process times first delivery → N-th ack;
 *   latency     then one task at a time: publish (confirmed) → row visible (polled every 1 ms);
 *   RSS         peak resident set size of the consumer process, sampled every 50 ms.
 *
 *   npm run bench                                   (all benches)
 *   npx tsx --conditions=@worker-toolbox/source bench/worker.ts
 * Env: BENCH_WORKER_COUNT (default 20000), BENCH_WORKER_LATENCY_SAMPLES (300), AMQP_URL / DATABASE_URL
 * (default: throwaway local servers).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  defineTask,
  entityNames,
  parseConfig,
  planTopology,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import { createTestDatabase, createTestNamespace, startLocalServers } from "@worker-toolbox/runtime/testing";
import amqp, { type ConsumeMessage } from "amqplib";
import pg from "pg";
import { pino } from "pino";
import { z } from "zod";
import { encodeTaskMessage, newTaskMessage } from "../packages/runtime/src/protocol/index.js";
import { migrate } from "../packages/runtime/src/results/migrate.js";
import { applyTopology } from "../packages/runtime/src/topology/applyTopology.js";
import { createWorker, implementTask } from "../packages/runtime/src/worker/index.js";

const SERVICE = "bench";
const noop = defineTask({ name: "bench.noop", args: z.tuple([z.number().int()]), result: z.number().int() });
const PREFETCH = 500;
type Pipeline = "toolbox" | "raw-single" | "raw-batched";

export interface WorkerBenchRow {
  pipeline: Pipeline;
  tasksPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
}

function benchConfig(prefix: string, amqpUrl: string, databaseUrl: string): ToolboxConfig {
  return parseConfig({
    mode: "production",
    service: SERVICE,
    environment: { prefix },
    broker: { url: amqpUrl },
    database: { url: databaseUrl, poolSize: 5 },
    worker: { prefetch: PREFETCH, concurrency: 64, resultBatchSize: 100, resultBatchWaitMs: 2 },
    logLevel: "warn",
  });
}

// ---------------------------------------------------------------- consumer processes (child side)

async function runConsumer(pipeline: Pipeline, config: ToolboxConfig, expected: number): Promise<void> {
  let first = 0;
  let done = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const report = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
  const onDone = (n: number) => {
    done += n;
    if (done === expected) report({ event: "drained", ms: performance.now() - first });
  };
  const onFirst = () => {
    if (first === 0) first = performance.now();
  };
  let stop: () => Promise<void>;

  if (pipeline === "toolbox") {
    const impl = implementTask(noop, ({ args: [n] }) => n);
    const worker = createWorker({ config, tasks: [impl], logger: pino({ level: "warn" }) });
    let last = 0;
    // The worker counts a task right before its ack goes out (same turn); poll the counter.
    const poll = setInterval(() => {
      const now = worker.stats.succeeded;
      if (now > last) {
        onFirst();
        onDone(now - last);
        last = now;
      }
    }, 1);
    worker.on("state", () => undefined);
    await worker.start();
    stop = async () => {
      clearInterval(poll);
      await worker.close({ graceMs: 1_000 });
    };
  } else {
    const pool = new pg.Pool({ connectionString: config.database.url, max: config.database.poolSize });
    const connection = await amqp.connect(config.broker.url);
    const channel = await connection.createChannel();
    await channel.prefetch(PREFETCH);
    const queue = entityNames(config.environment.prefix).serviceQueue(SERVICE);
    const insert = (rows: { id: string; result: number }[]) => ({
      text: `INSERT INTO celery_taskmeta (id, task_id, status, result_json, date_done) VALUES ${rows
        .map((_, i) => `(nextval('task_id_sequence'), $${2 * i + 1}, 'SUCCESS', $${2 * i + 2}::jsonb, now())`)
        .join(", ")} ON CONFLICT (task_id) DO NOTHING`,
      values: rows.flatMap((row) => [row.id, JSON.stringify(row.result)]),
    });
    const execute = (message: ConsumeMessage) => {
      const [args] = JSON.parse(message.content.toString()) as [number[]];
      return { id: String(message.properties.headers?.id), result: args[0] ?? 0 };
    };
    if (pipeline === "raw-single") {
      await channel.consume(queue, (message) => {
        if (!message) return;
        onFirst();
        const row = execute(message);
        void pool.query(insert([row])).then(() => {
          channel.ack(message);
          onDone(1);
        });
      });
    } else {
      const batch: ConsumeMessage[] = [];
      let writing = false;
      let timer: NodeJS.Timeout | undefined;
      const flush = async () => {
        if (writing || batch.length === 0) return;
        clearTimeout(timer);
        timer = undefined;
        writing = true;
        const taken = batch.splice(0, 100);
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          await client.query(insert(taken.map(execute)));
          await client.query("COMMIT");
        } finally {
          client.release();
        }
        channel.ack(taken.at(-1)!, true);
        onDone(taken.length);
        writing = false;
        if (batch.length >= 100) void flush();
        else if (batch.length > 0) timer ??= setTimeout(flush, 2);
      };
      await channel.consume(queue, (message) => {
        if (!message) return;
        onFirst();
        batch.push(message);
        if (batch.length >= 100) void flush();
        else timer ??= setTimeout(flush, 2);
      });
    }
    stop = async () => {
      await connection.close();
      await pool.end();
    };
  }
  report({ event: "ready" });
  process.stdin.on("data", async () => {
    clearInterval(sampler);
    await stop();
    report({ event: "rss", bytes: peakRss });
    process.exit(0);
  });
}

// ---------------------------------------------------------------- orchestration (parent side)

async function measure(
  pipeline: Pipeline,
  servers: { amqpUrl: string; databaseUrl: string },
  count: number,
  samples: number,
): Promise<WorkerBenchRow> {
  const db = await createTestDatabase(servers.databaseUrl, `bench_${pipeline}`);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const prefix = createTestNamespace(`b-${pipeline}`);
  const config = benchConfig(prefix, servers.amqpUrl, db.url);
  const names = entityNames(prefix);
  const connection = await amqp.connect(servers.amqpUrl);
  const channel = await connection.createConfirmChannel();
  try {
    await migrate(pool, { schema: "public" });
    await applyTopology(channel, planTopology(config));
    const publish = async (n: number) => {
      const { content, properties } = encodeTaskMessage(newTaskMessage({ task: noop.name, args: [n] }));
      channel.publish(names.exchange, noop.name, content, properties);
      return String(properties.headers.id);
    };
    for (let i = 0; i < count; i++) {
      await publish(i);
      if (i % 1_000 === 999) await channel.waitForConfirms();
    }
    await channel.waitForConfirms();

    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--conditions=@worker-toolbox/source",
        fileURLToPath(import.meta.url),
        "--consume",
        pipeline,
        String(count),
      ],
      {
        env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) },
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    const events: Record<string, unknown>[] = [];
    const waiters: { event: string; resolve: (e: Record<string, unknown>) => void }[] = [];
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const event = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
        buffer = buffer.slice(nl + 1);
        events.push(event);
        for (const w of waiters.filter((w) => w.event === event.event)) w.resolve(event);
      }
    });
    const next = (event: string) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const seen = events.find((e) => e.event === event);
        if (seen) resolve(seen);
        else waiters.push({ event, resolve });
      });
    const drained = await next("drained");
    const tasksPerSecond = count / ((drained.ms as number) / 1_000);

    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      const id = await publish(count + i);
      await channel.waitForConfirms();
      for (;;) {
        const { rowCount } = await pool.query("SELECT 1 FROM celery_taskmeta WHERE task_id = $1", [id]);
        if (rowCount) break;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    child.stdin.write("stop\n");
    const rss = await next("rss");
    return {
      pipeline,
      tasksPerSecond: Math.round(tasksPerSecond),
      p50Ms: round(latencies[Math.floor(samples * 0.5)] ?? 0),
      p99Ms: round(latencies[Math.floor(samples * 0.99)] ?? 0),
      rssMb: round((rss.bytes as number) / 1024 / 1024),
    };
  } finally {
    for (const queue of planTopology(config).queues)
      await channel.deleteQueue(queue.name).catch(() => undefined);
    for (const exchange of [...planTopology(config).exchanges.map((e) => e.name), names.controlExchange])
      await channel.deleteExchange(exchange).catch(() => undefined);
    await connection.close().catch(() => undefined);
    await pool.end();
    await db.drop();
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

export async function benchWorker(
  count = Number(process.env.BENCH_WORKER_COUNT ?? 20_000),
  samples = Number(process.env.BENCH_WORKER_LATENCY_SAMPLES ?? 300),
): Promise<WorkerBenchRow[]> {
  const servers = await startLocalServers();
  try {
    const rows: WorkerBenchRow[] = [];
    for (const pipeline of ["raw-single", "raw-batched", "toolbox"] as const) {
      rows.push(await measure(pipeline, servers, count, samples));
    }
    const single = rows[0]!;
    const batched = rows[1]!;
    const toolbox = rows[2]!;
    console.log(`\nWorker: ${count} no-op tasks (prefetch ${PREFETCH}), ${samples} sequential round trips`);
    console.table(rows);
    console.log(
      `toolbox throughput = ${round(toolbox.tasksPerSecond / batched.tasksPerSecond)}x raw-batched ` +
        `(${round(toolbox.tasksPerSecond / single.tasksPerSecond)}x raw-single); ` +
        `p50 = ${round(toolbox.p50Ms / single.p50Ms)}x raw-single; RSS ${toolbox.rssMb} MB`,
    );
    return rows;
  } finally {
    await servers.stop();
  }
}

if (process.argv[2] === "--consume") {
  const config = JSON.parse(process.env.BENCH_CONFIG ?? "{}") as ToolboxConfig;
  await runConsumer(process.argv[3] as Pipeline, config, Number(process.argv[4]));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await benchWorker();
}
