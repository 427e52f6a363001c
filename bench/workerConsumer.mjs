/**
 * The consumer side of bench/worker.ts, one process per pipeline. Plain JavaScript importing the BUILT
 * packages (`npm run build` → packages/*\/dist), so no pipeline pays for a TypeScript loader.
 *
 *   node bench/workerConsumer.mjs <pipeline> <warmup> <count>      (config in BENCH_CONFIG, JSON)
 *
 * Pipelines:
 *   toolbox      createWorker with a no-op task;
 *   raw-single   per message: one INSERT of the full row, then ack(msg);
 *   raw-batched  up to 100 rows per multi-row INSERT (one statement = one transaction), then one
 *                ack(last, allUpTo) after it committed; one batch in flight, written as soon as the
 *                previous one committed, or after 2 ms when the database was idle;
 *   baseline     amqplib + pg + pino + zod loaded, one AMQP connection and one database connection
 *                open, nothing consumed: what any Node worker with these libraries costs in memory;
 *   setup        not a consumer: migrate the database and declare the topology with the built packages
 *                (so the queues match what the built worker expects), print the entity names, exit.
 *
 * The raw pipelines write the same celery_taskmeta columns as the toolbox: pickled result, result_json,
 * args/kwargs as JSON bytes, name, worker, retries, queue, parent/root id, date_done/updated_at. They use
 * ON CONFLICT DO NOTHING where the toolbox's upsert keeps its state-precedence WHERE (for fresh task ids
 * both insert). They parse the body with JSON.parse and read the headers directly; the toolbox decodes a
 * full Celery v2 message (Kombu markers, every header) and validates arguments and result with zod.
 *
 * BENCH_CONFIG holds the config *input* (parsed here by the built parseConfig for the toolbox).
 * Events on stdout, one JSON object a line: ready, warm (warm-up done), drained {ms}. The parent
 * measures memory from /proc/<pid>/status and round trips from its side; stdin "stop" ends the process.
 */
import amqp from "amqplib";
import pg from "pg";
import { pino } from "pino";

const [pipeline, warmupArg, countArg] = process.argv.slice(2);
const warmup = Number(warmupArg);
const expected = warmup + Number(countArg);
const config = JSON.parse(process.env.BENCH_CONFIG ?? "{}");
const report = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

if (pipeline === "setup") {
  const { parseConfig, planTopology, entityNames } = await import("@worker-toolbox/config");
  const { migrate, applyTopology } = await import("@worker-toolbox/runtime");
  const parsed = parseConfig(config);
  const pool = new pg.Pool({ connectionString: parsed.database.url, max: 1 });
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
const poll = setInterval(() => {
  if (windowStart === 0 && done >= warmup) {
    windowStart = performance.now();
    report({ event: "warm" });
  }
  if (windowStart !== 0 && done >= expected) {
    const ms = performance.now() - windowStart;
    const memory = process.memoryUsage();
    // With --expose-gc (BENCH_CONSUMER_NODE_ARGS): what is still reachable, as opposed to not yet collected.
    globalThis.gc?.();
    report({ event: "drained", ms, memory, afterGc: globalThis.gc ? process.memoryUsage() : undefined });
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
if (pipeline === "toolbox") {
  const { createWorker, implementTask } = await import("@worker-toolbox/runtime");
  const { defineTask } = await import("@worker-toolbox/config");
  const { z } = await import("zod");
  const noop = defineTask({
    name: "bench.noop",
    args: z.tuple([z.number().int()]),
    result: z.number().int(),
  });
  const impl = implementTask(noop, ({ args: [n] }) => n);
  const { parseConfig } = await import("@worker-toolbox/config");
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
  const pool = new pg.Pool({ connectionString: config.database.url, max: 1 });
  await pool.query("SELECT 1");
  pino({ level: "warn" }, pino.destination(2));
  done = expected;
  stop = async () => {
    await channel.close();
    await connection.close();
    await pool.end();
  };
} else {
  const prefetch = config.worker.prefetch;
  const workerName = `${config.service}@bench:${process.pid}`;
  const queue = `${config.environment.prefix}.${config.service}`;
  const pool = new pg.Pool({ connectionString: config.database.url, max: config.database.poolSize });
  const connection = await amqp.connect(config.broker.url);
  const channel = await connection.createChannel();
  await channel.prefetch(prefetch);
  const ROW = 10;
  const insert = (rows) => {
    const workerParam = `$${rows.length * ROW + 1}`;
    const tuples = rows.map((_, i) => {
      const $ = (k) => `$${i * ROW + k}`;
      return `(nextval('task_id_sequence'), ${$(1)}, 'SUCCESS', ${$(2)}, now() AT TIME ZONE 'UTC', ${$(3)}, ${$(4)},
        ${$(5)}, ${workerParam}, ${$(6)}, ${$(7)}, ${$(8)}::jsonb, now(), ${$(9)}, ${$(10)})`;
    });
    return {
      text: `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, name, args, kwargs, worker,
        retries, queue, result_json, updated_at, parent_id, root_id)
        VALUES ${tuples.join(", ")} ON CONFLICT (task_id) DO NOTHING`,
      values: [...rows.flat(), workerName],
    };
  };
  // Decode, run the no-op, encode the row's values in column order.
  const execute = (message) => {
    const [args, kwargs] = JSON.parse(message.content.toString());
    const headers = message.properties.headers;
    const result = args[0];
    return [
      String(headers.id),
      pickleInt(result),
      String(headers.task),
      Buffer.from(JSON.stringify(args)),
      Buffer.from(JSON.stringify(kwargs)),
      Number(headers.retries ?? 0),
      queue,
      JSON.stringify(result),
      headers.parent_id ?? null,
      headers.root_id ?? null,
    ];
  };
  if (pipeline === "raw-single") {
    await channel.consume(queue, (message) => {
      if (!message) return;
      void pool.query(insert([execute(message)])).then(() => {
        channel.ack(message);
        done += 1;
      });
    });
  } else {
    const batch = [];
    let writing = false;
    let timer;
    const flush = async () => {
      clearTimeout(timer);
      timer = undefined;
      if (writing || batch.length === 0) return;
      writing = true;
      const taken = batch.splice(0, 100);
      await pool.query(insert(taken.map(execute)));
      channel.ack(taken.at(-1), true);
      done += taken.length;
      writing = false;
      if (batch.length > 0) void flush(); // what gathered meanwhile goes now
    };
    await channel.consume(queue, (message) => {
      if (!message) return;
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

/** Python pickle protocol 2 of a small non-negative int: PROTO 2, BININT1/BININT2/BININT, STOP. */
function pickleInt(n) {
  if (n < 0x100) return Buffer.from([0x80, 2, 0x4b, n, 0x2e]);
  if (n < 0x10000) return Buffer.from([0x80, 2, 0x4d, n & 0xff, n >> 8, 0x2e]);
  const b = Buffer.from([0x80, 2, 0x4a, 0, 0, 0, 0, 0x2e]);
  b.writeInt32LE(n, 3);
  return b;
}

report({ event: "ready" });
process.stdin.once("data", async () => {
  clearInterval(poll);
  await heapProfile?.();
  await stop();
  process.exit(0);
});
