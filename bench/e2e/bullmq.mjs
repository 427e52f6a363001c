/**
 * BullMQ on Redis, as its users run it: `node bench/e2e/bullmq.mjs producer|worker` (BENCH_E2E: common.mjs).
 *   producer  a Queue; the throughput phase adds jobs with `addBulk` in chunks of 1,000 (BullMQ's bulk API),
 *             a round trip is `queue.add()` then `job.waitUntilFinished(queueEvents)`, BullMQ's documented
 *             way to wait for a job's result;
 *   worker    a Worker whose processor returns the job's first argument (BullMQ stores it in Redis as the
 *             job's return value), with the toolbox worker's concurrency; default job options (completed
 *             jobs are kept, like the toolbox's result rows).
 */
import { Queue, QueueEvents, Worker } from "bullmq";
import { payload, run, serveProducer, serveWorker, TASK } from "./common.mjs";

const role = process.argv[2];
const name = run.config.environment.prefix;
const connection = { host: run.redis.host, port: run.redis.port, maxRetriesPerRequest: null };
const CHUNK = 1_000;

if (role === "producer") {
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  serveProducer({
    send: async (from, to) => {
      for (let start = from; start < to; start += CHUNK) {
        const jobs = [];
        for (let n = start; n < Math.min(to, start + CHUNK); n++)
          jobs.push({ name: TASK, data: { args: [n, payload] } });
        await queue.addBulk(jobs);
      }
    },
    roundTrip: async (n) => {
      const job = await queue.add(TASK, { args: [n, payload] });
      await job.waitUntilFinished(events, 30_000);
    },
    close: async () => {
      await events.close();
      await queue.close();
    },
  });
} else {
  let done = 0;
  let progress = () => {};
  const worker = new Worker(name, async (job) => job.data.args[0], {
    connection,
    concurrency: run.config.worker.concurrency,
  });
  worker.on("completed", () => {
    done += 1;
    progress(done);
  });
  await worker.waitUntilReady();
  progress = serveWorker({ close: () => worker.close() });
}
