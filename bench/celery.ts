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

import { startLocalServers } from "@worker-toolbox/testing";
import { findCeleryPython, warnCeleryMissing } from "../test/support/celeryPython.js";
import type { CeleryPool } from "./celery/celeryWorker.js";
import { type CeleryBenchRow, measure, PREFETCH } from "./celery/measure.js";
import { medianRows } from "./stats.js";

export type { CeleryBenchRow } from "./celery/measure.js";

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
  const pools = (process.env.BENCH_CELERY_POOLS ?? "prefork").split(",").map((p) => p.trim()) as CeleryPool[];
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
