/**
 * The worker's own CPU per delivery, without a broker or a database: `node bench/pipelineCpu.mjs [root]`.
 *
 * The built delivery pipeline of `root` (default: this checkout; another built checkout for an A/B) is fed
 * Celery messages as amqplib hands them over (content and decoded headers), in bursts of `prefetch`; its
 * rows go through the real batch writer and result store encoding (latestPerTask, encodeOutcome, the binary
 * array parameters) to a pool whose query returns at once; acks go to a channel that counts them. What it
 * times is everything the worker process does per task except amqplib's frame parsing and pg's socket I/O.
 * Env: BENCH_PIPELINE_COUNT (50000), BENCH_PIPELINE_PREFETCH (500), BENCH_PIPELINE_ROUNDS (5),
 * BENCH_PIPELINE_PAYLOAD (0: bytes of the task's second argument, a string, as the e2e bench's payload).
 */
import { pathToFileURL } from "node:url";

const root = process.argv[2] ?? new URL("..", import.meta.url).pathname;
const dist = (name, file) => import(pathToFileURL(`${root}/packages/${name}/dist/${file}`).href);
const count = Number(process.env.BENCH_PIPELINE_COUNT ?? 50_000);
const prefetch = Number(process.env.BENCH_PIPELINE_PREFETCH ?? 500);
const rounds = Number(process.env.BENCH_PIPELINE_ROUNDS ?? 5);
const payload = "x".repeat(Number(process.env.BENCH_PIPELINE_PAYLOAD ?? 0));

const { defineTask, parseConfig } = await dist("config", "index.js");
const { implementTask } = await dist("runtime", "worker/implementTask.js");
const { taskRegistry } = await dist("runtime", "worker/taskRegistry.js");
const { RevokedSet } = await dist("runtime", "worker/revocations.js");
const { WorkerMetrics } = await dist("runtime", "worker/metrics.js");
const { CeleryPresence } = await dist("runtime", "worker/celeryPresence.js");
const { Slots } = await dist("runtime", "delivery/slots.js");
const { RateLimits } = await dist("runtime", "delivery/rateLimits.js");
const { workerPipeline } = await dist("runtime", "worker/workerPipeline.js");
const { resultWriter, workerResultStore } = await dist("runtime", "worker/workerParts.js");
const { newWorkerStats } = await dist("runtime", "delivery/settle.js");
const { AckTracker } = await dist("runtime", "consumer/acks.js");
const { encodeTaskMessage, newTaskMessage } = await dist("runtime", "protocol/index.js");
const { z } = await import("zod");
const { pino } = await import("pino");

const task = defineTask({
  name: "bench.noop",
  args: z.tuple([z.number().int(), z.string()]),
  result: z.number().int(),
});
const config = parseConfig({
  mode: "production",
  service: "bench",
  environment: { prefix: "bench" },
  broker: { url: "amqp://127.0.0.1:1" },
  database: { url: "postgres://x@127.0.0.1:1/x", poolSize: 5 },
  worker: { prefetch, concurrency: 64, resultBatchSize: 100, resultBatchWaitMs: 2 },
  logLevel: "warn",
});
const logger = pino({ level: "warn" }, pino.destination(2));
const tasks = taskRegistry(config, [implementTask(task, ({ args: [n] }) => n)]);
const revoked = new RevokedSet();
const stats = newWorkerStats();
const metrics = new WorkerMetrics({
  service: "bench",
  taskNames: tasks.names,
  sample: () => ({ running: 0, pendingResults: 0, consumerActive: true, broker: "ready" }),
});
// A pool that answers every query at once (the statement's encoding still happens in the store).
const pool = { query: async () => ({ rows: [] }), on() {} };
const store = workerResultStore(config, pool, "bench@host");
const rows = resultWriter(config, metrics.timedStore(store), logger);
// Handler slots and rate limits as createWorker makes them (remote control may change them).
const slots = new Slots(config.worker.concurrency);
const rates = new RateLimits();
const presence = new CeleryPresence({
  config,
  service: "bench",
  nodeName: "bench@host",
  taskNames: tasks.names,
  logger,
  revoked,
  abort: () => undefined,
  stats: () => ({ ...stats, running: 0 }),
  brokerNode: () => undefined,
  slots,
  rates,
  setTimeLimits: () => undefined,
  shutdown: () => undefined,
});
const pipeline = workerPipeline({
  config,
  service: "bench",
  workerName: "bench@host",
  logger,
  tasks,
  revoked,
  publisher: { publish: async () => undefined },
  rows,
  store: { hasSucceeded: async () => false },
  readResults: async () => new Map(),
  stats,
  metrics,
  observer: presence.observer,
  slots,
  rates,
});

let acked = 0;
/** Every delivery tag acked, one by one or by a cumulative ack (`allUpTo`). */
const ackedTags = new Set();
let floor = 0;
const channel = {
  once() {},
  nack() {},
  ack(message, allUpTo) {
    const tag = message.fields.deliveryTag;
    if (!allUpTo) ackedTags.add(tag);
    else for (; floor < tag; floor++) ackedTags.add(floor + 1);
    acked = ackedTags.size;
  },
};
const acks = new AckTracker(channel, undefined, () => undefined);

const template = encodeTaskMessage(newTaskMessage({ task: "bench.noop", args: [0, payload] }));
let tag = 0;
/** A message as amqplib delivers it: its own content buffer and freshly decoded header table. */
function message(n) {
  const encoded = encodeTaskMessage(newTaskMessage({ task: "bench.noop", args: [n, payload] }));
  const headers = {};
  for (const key of Object.keys(encoded.properties.headers)) headers[key] = encoded.properties.headers[key];
  return {
    content: Buffer.from(encoded.content),
    fields: {
      deliveryTag: ++tag,
      redelivered: false,
      exchange: "bench",
      routingKey: "bench.noop",
      consumerTag: "c",
    },
    properties: { ...template.properties, headers },
  };
}

const until = (check) =>
  new Promise((resolve) => {
    const poll = () => (check() ? resolve() : setImmediate(poll));
    poll();
  });

async function runRound() {
  // The messages are made before the clock runs (their encoding is the producer's cost, not the worker's).
  const bursts = [];
  for (let i = 0; i < count; i += prefetch) {
    const burst = [];
    for (let j = i; j < Math.min(count, i + prefetch); j++) burst.push(message(j));
    bursts.push(burst);
  }
  const start = acked;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (const burst of bursts) {
    const target = acked + burst.length;
    for (const m of burst) pipeline.receive(acks, m);
    await until(() => acked >= target);
  }
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - t0;
  if (acked - start !== count) throw new Error(`acked ${acked - start} of ${count}`);
  return { cpuUs: (used.user + used.system) / count, wallUs: (ms * 1000) / count };
}

const results = [];
for (let r = 0; r < rounds + 1; r++) {
  const result = await runRound();
  if (r > 0) results.push(result); // the first round warms up the JIT
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  JSON.stringify({
    root,
    cpuUs: Number(median(results.map((r) => r.cpuUs)).toFixed(1)),
    wallUs: Number(median(results.map((r) => r.wallUs)).toFixed(1)),
    rounds: results.map((r) => Number(r.cpuUs.toFixed(1))),
    rssMb: Number((process.memoryUsage().rss / 2 ** 20).toFixed(1)),
  }),
);
process.exit(0);
