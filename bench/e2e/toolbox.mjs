/**
 * The toolbox as a service runs it: `node bench/e2e/toolbox.mjs producer|worker|tracker` (BENCH_E2E: see common.mjs).
 *   producer  createProducer; the throughput phase is one `sendMany` per phase (the bulk API, which paces
 *             itself on the socket), the round trips `send()` then the result watcher's `wait()` (createResultWatcher, once per process:
 *             the user's path; `waitForResult()` on a checkout without it);
 *   worker    createWorker with the task's handler (returns its first argument), zod-validated both ways;
 *   tracker   createTracker on the platform queue (BENCH_E2E_TRACKER=on).
 * With BENCH_E2E_PACKAGES=<checkout> (the `toolbox-base` system) both run that checkout's built packages.
 */
import { dependencyOf } from "../checkoutImport.mjs";
import { payload, run, serveProducer, serveWorker, TASK } from "./common.mjs";

// BENCH_E2E_PACKAGES (set by e2e.ts for `toolbox-base`): another checkout whose built packages run instead,
// with that checkout's pino and zod (one copy of each, as its packages load them).
const base = process.env.BENCH_E2E_PACKAGES;
const built = (name) =>
  base ? new URL(`packages/${name}/dist/index.js`, `file://${base}/`).href : `@worker-toolbox/${name}`;
const dependency = (name) => (base ? dependencyOf(base, name) : name);
const { pino } = await import(dependency("pino"));
const { z } = await import(dependency("zod"));
const { defineTask, parseConfig } = await import(built("config"));
const runtime = await import(built("runtime"));
const { createDatabasePool, createProducer, createTracker, createWorker, implementTask, waitForResult } =
  runtime;

const task = defineTask({
  name: TASK,
  args: z.tuple([z.number().int(), z.string()]),
  result: z.number().int(),
});
const config = parseConfig(run.config);
const logger = pino({ level: "warn" }, pino.destination(2));
const role = process.argv[2];

if (role === "producer") {
  const producer = createProducer({ config, contracts: [task], logger });
  const pool = createDatabasePool(config); // what an app reading results uses
  // The documented way to wait for results: one watcher per process (a checkout without it: waitForResult).
  const watcher = runtime.createResultWatcher?.({ pool, schema: config.database.schema });
  const wait = (id, options) =>
    watcher ? watcher.wait(id, options) : waitForResult(pool, config.database.schema, id, options);
  await Promise.all([producer.ready(30_000), watcher?.ready()]);
  serveProducer({
    send: async (from, to) => {
      const calls = [];
      for (let n = from; n < to; n++) calls.push({ args: [n, payload] });
      const outcomes = await producer.sendMany(task, calls);
      const failed = outcomes.find((outcome) => outcome.status === "rejected");
      if (failed) throw failed.reason;
    },
    roundTrip: async (n) => {
      const { id } = await producer.send(task, [n, payload]);
      const view = await wait(id, { timeoutMs: 30_000 });
      if (view.status !== "SUCCESS") throw new Error(`task ${id} ended ${view.status}`);
    },
    close: async () => {
      await producer.close();
      await watcher?.close();
      await pool.end();
    },
  });
} else if (role === "tracker") {
  // The platform copy's reader of BENCH_E2E_TRACKER=on: the toolbox's tracker, as the platform runs it.
  const tracker = createTracker({ config, logger });
  await tracker.start();
  const progress = serveWorker({ close: () => tracker.close() });
  const poll = setInterval(() => {
    progress(tracker.stats.stored);
    if (tracker.stats.stored >= run.warmup + run.count) clearInterval(poll);
  }, 1);
} else {
  const worker = createWorker({ config, tasks: [implementTask(task, ({ args: [n] }) => n)], logger });
  await worker.start();
  const progress = serveWorker({ close: () => worker.close({ graceMs: 1_000 }) });
  // The worker counts finished tasks; a 1 ms poll turns the count into events (as bench/workerConsumer.mjs).
  const poll = setInterval(() => {
    progress(worker.stats.succeeded);
    if (worker.stats.succeeded >= run.warmup + run.count) clearInterval(poll);
  }, 1);
}
