/**
 * The consumer side of bench/worker.ts, one process per pipeline. Plain JavaScript importing the BUILT
 * packages (`npm run build` → packages/*\/dist), so no pipeline pays for a TypeScript loader.
 *
 *   node bench/workerConsumer.mjs <pipeline> <warmup> <count>      (config in BENCH_CONFIG, JSON)
 *
 * Pipelines:
 *   toolbox      createWorker with a no-op task;
 *   toolbox-base the same with the packages built in another checkout (BENCH_WORKER_BASE, its root dir):
 *                an A/B of a change in one run window, the two toolboxes interleaved with the rest;
 *   raw-single, raw-batched   the hand-written amqplib + pg consumers of bench/rawPipeline.mjs (what each
 *                does, and how their row matches the toolbox's, is written there);
 *   baseline     amqplib + pg + pino + zod loaded, one AMQP connection and one database connection
 *                open, nothing consumed: what any Node worker with these libraries costs in memory;
 *   setup        not a consumer: migrate the database and declare the topology with the built packages
 *                (so the queues match what the built worker expects), print the entity names, exit.
 *
 * The toolbox decodes a full Celery v2 message (Kombu markers, every header) and validates arguments and
 * result with zod; the raw consumers parse the body with JSON.parse and read the headers directly.
 *
 * BENCH_CONFIG holds the config *input* (parsed here by the built parseConfig for the toolbox).
 * Events on stdout, one JSON object a line: ready, warm (warm-up done), drained {ms}. The parent
 * measures memory from /proc/<pid>/status and round trips from its side; stdin "stop" ends the process.
 */
import amqp from "amqplib";
import pg from "pg";
import { pino } from "pino";
import { failOnPgError } from "./pgErrors.mjs";
import { startRawConsumer } from "./rawPipeline.mjs";

const [pipeline, warmupArg, countArg] = process.argv.slice(2);
const warmup = Number(warmupArg);
const expected = warmup + Number(countArg);
const config = JSON.parse(process.env.BENCH_CONFIG ?? "{}");
const report = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

if (pipeline === "setup") {
  const { parseConfig, planTopology, entityNames } = await import("@worker-toolbox/config");
  const { migrate } = await import("@worker-toolbox/runtime/results");
  const { applyTopology } = await import("@worker-toolbox/runtime/topology");
  const parsed = parseConfig(config);
  const pool = failOnPgError(new pg.Pool({ connectionString: parsed.database.url, max: 1 }), "setup pool");
  await migrate(pool, { schema: parsed.database.schema });
  await pool.end();
  const connection = await amqp.connect(parsed.broker.url);
  const plan = planTopology(parsed);
  await applyTopology(await connection.createChannel(), plan);
  await connection.close();
  const names = entityNames(parsed.environment.prefix);
  report({
    event: "setup",
    exchange: names.exchange,
    queues: plan.queues.map((q) => q.name),
    exchanges: [...plan.exchanges.map((e) => e.name), names.controlExchange],
  });
  process.exit(0);
}

// Every pipeline counts a message as done in the turn its ack is sent; a 1 ms poll turns the counter
// into the timing window "warm-up done → last ack", the same way for all.
let done = 0;
let windowStart = 0;
let cpuStart;
const poll = setInterval(() => {
  if (windowStart === 0 && done >= warmup) {
    windowStart = performance.now();
    cpuStart = process.cpuUsage();
    report({ event: "warm" });
  }
  if (windowStart !== 0 && done >= expected) {
    const ms = performance.now() - windowStart;
    const cpu = process.cpuUsage(cpuStart);
    const cpuMs = (cpu.user + cpu.system) / 1_000;
    const memory = process.memoryUsage();
    // With --expose-gc (BENCH_CONSUMER_NODE_ARGS): what is still reachable, as opposed to not yet collected.
    globalThis.gc?.();
    report({
      event: "drained",
      ms,
      cpuMs,
      memory,
      afterGc: globalThis.gc ? process.memoryUsage() : undefined,
    });
    clearInterval(poll);
  }
}, 1);

// BENCH_HEAP_PROFILE=<file>: sample allocations (collected ones included) from ready to stop.
let heapProfile;
if (process.env.BENCH_HEAP_PROFILE) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  heapProfile = async () => {
    const { profile } = await session.post("HeapProfiler.stopSampling");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(process.env.BENCH_HEAP_PROFILE, JSON.stringify(profile));
  };
}

let stop;
if (pipeline === "toolbox" || pipeline === "toolbox-base") {
  const base = process.env.BENCH_WORKER_BASE;
  const built = (name) =>
    pipeline === "toolbox"
      ? `@worker-toolbox/${name}`
      : new URL(`packages/${name}/dist/index.js`, `file://${base}/`).href;
  const { createWorker, implementTask } = await import(built("runtime"));
  const { defineTask, parseConfig } = await import(built("config"));
  const { z } = await import("zod");
  const noop = defineTask({
    name: "bench.noop",
    args: z.tuple([z.number().int()]),
    result: z.number().int(),
  });
  const impl = implementTask(noop, ({ args: [n] }) => n);
  const worker = createWorker({
    config: parseConfig(config),
    tasks: [impl],
    logger: pino({ level: "warn" }, pino.destination(2)),
  });
  const count = setInterval(() => {
    done = worker.stats.succeeded;
  }, 1);
  await worker.start();
  stop = async () => {
    clearInterval(count);
    await worker.close({ graceMs: 1_000 });
  };
} else if (pipeline === "baseline") {
  await import("zod");
  await import("@worker-toolbox/config");
  const connection = await amqp.connect(config.broker.url);
  const channel = await connection.createChannel();
  const pool = failOnPgError(new pg.Pool({ connectionString: config.database.url, max: 1 }), "pool");
  await pool.query("SELECT 1");
  pino({ level: "warn" }, pino.destination(2));
  done = expected;
  stop = async () => {
    await channel.close();
    await connection.close();
    await pool.end();
  };
} else {
  // raw-single / raw-batched (bench/rawPipeline.mjs)
  const raw = await startRawConsumer(config, pipeline === "raw-single" ? "single" : "batched", (n) => {
    done += n;
  });
  stop = raw.stop;
}

report({ event: "ready" });
process.stdin.once("data", async () => {
  clearInterval(poll);
  await heapProfile?.();
  await stop();
  process.exit(0);
});
