/**
 * End to end, as users run it: a producer process and a worker process at the same time, with payloads of
 * 0 B, 1 KB and 100 KB, side by side in one run for the toolbox, a hand-written amqplib + pg pipeline on the
 * same topology (raw-batched, raw-single), and BullMQ on Redis (AOF everysec). What each process does is
 * written in bench/e2e/*.mjs; how it is measured:
 *
 *   tasks/s     the worker and the producer are started and connected; the producer sends the warm-up tasks
 *               (a tenth of N) and the worker finishes them; then the clock starts, the producer sends N
 *               more with its bulk API, and the clock stops when the worker finished the last one
 *               (its result stored and the message acknowledged): N / that window;
 *   publish/s   N / the producer's own time to have all N confirmed (it runs while the worker consumes);
 *   round trip  then one task at a time from the producer: publish → result readable by the producer
 *               (waitForResult for the toolbox, LISTEN + SELECT for raw, waitUntilFinished for BullMQ);
 *   CPU         user + system time in the throughput window of each process (producer, worker) and of
 *               the servers started here (RabbitMQ, PostgreSQL with its backends, Redis), in µs per task;
 *   RSS         peak resident set (VmHWM) of the producer and the worker processes.
 *
 * Rounds rotate the order of the systems; figures are medians over rounds. Ratios are taken within the run.
 *
 *   npm run build && npx tsx bench/e2e.ts        (or BENCH_ONLY=e2e npm run bench)
 * Env: BENCH_E2E_SYSTEMS (raw-batched,raw-single,toolbox,bullmq,celery; a raw pipeline with another kind of
 * platform copy is e.g. raw-batched@stream, @lazy, @classic or @none; toolbox@once: resultExtended off),
 * BENCH_E2E_PAYLOADS (0,1024,102400),
 * BENCH_E2E_COUNT (20000; payloads ≥ 64 KB use BENCH_E2E_COUNT_LARGE, 2000), BENCH_E2E_SAMPLES (200),
 * BENCH_E2E_ROUNDS (3), BENCH_E2E_PREFETCH (500), BENCH_E2E_CONCURRENCY (64), BENCH_E2E_NODE_ARGS (node
 * flags for every process), BENCH_E2E_WORKER_NODE_ARGS (node flags of every worker process; default: the generated
 * service's start script's, see e2e/workerFlags.ts; `none`: Node's defaults), BENCH_E2E_PROFILE=<dir> (a CPU profile of every Node process, named after
 * system, role, payload and round), BENCH_E2E_FSYNC (on: PostgreSQL commits reach the disk, as in production;
 * off keeps the throwaway server's fsync=off), BENCH_E2E_BASE=<the root of another checkout, built> (adds
 * `toolbox-base`: the same toolbox.mjs running that checkout's packages, producer and worker, interleaved with
 * `toolbox` in the same run: an A/B of two commits), BENCH_E2E_TRACKER (on: a third process reads the platform
 * copy as the tracker does, and the CPU window lasts until it stored every copy; see trackerOf),
 * AMQP_URL / DATABASE_URL (default: throwaway servers).
 * Writes the whole result as JSON to bench/results/e2e-<time>.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { guardedClient } from "@worker-toolbox/runtime/results";
import { type LocalServers, startLocalServers } from "@worker-toolbox/testing";
import { findCeleryPython, warnCeleryMissing } from "../test/support/celeryPython.js";
import { rootsByCommandLine } from "./child.js";
import { type E2eRow, measure, type ServerPids, type World } from "./e2e/measure.js";
import { type E2eVerdict, medians, printAb, printTable, verdicts } from "./e2e/report.js";
import { settings } from "./e2e/settings.js";
import { ensureRedisInstalled, startRedis } from "./redis.js";

export type { E2eRow } from "./e2e/measure.js";
export type { E2eVerdict } from "./e2e/report.js";
export type { Kind, System } from "./e2e/settings.js";

const BUILT = fileURLToPath(new URL("../packages/runtime/dist/index.js", import.meta.url));
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));

/** PostgreSQL as production runs it: commits flushed to disk (the throwaway server starts with fsync=off). */
async function durablePostgres(servers: LocalServers): Promise<void> {
  if (!servers.postgres || process.env.BENCH_E2E_FSYNC === "off") return;
  const client = guardedClient({ connectionString: servers.databaseUrl });
  await client.connect();
  await client.query("ALTER SYSTEM SET fsync = on");
  await client.query("ALTER SYSTEM SET full_page_writes = on");
  await client.query("SELECT pg_reload_conf()");
  await client.end();
}

export async function benchE2e(): Promise<{ rows: E2eRow[]; verdicts: E2eVerdict[] }> {
  if (!existsSync(BUILT)) throw new Error("bench/e2e.ts runs the built packages: run `npm run build` first");
  const s = settings();
  const celery = s.systems.includes("celery") ? findCeleryPython() : undefined;
  if (celery && !celery.found) {
    warnCeleryMissing("Celery in the end-to-end benchmark", celery.reason);
    s.systems = s.systems.filter((x) => x !== "celery");
  }
  if (s.systems.includes("bullmq") && !ensureRedisInstalled())
    s.systems = s.systems.filter((x) => x !== "bullmq");
  const startedAt = new Date().toISOString();
  const loadBefore = readFileSync("/proc/loadavg", "utf8").trim();
  const servers = await startLocalServers();
  const redis = s.systems.includes("bullmq") ? await startRedis() : undefined;
  try {
    await durablePostgres(servers);
    const pids: ServerPids = {
      rabbitmq: servers.rabbitmq ? rootsByCommandLine(servers.rabbitmq.dir) : [],
      postgres: servers.postgres ? rootsByCommandLine(`${servers.postgres.dir}/data`) : [],
      redis: redis ? [redis.pid] : [],
    };
    const world: World = { servers, redis, pids, celeryPython: celery?.found ? celery.python : undefined };
    const runs: E2eRow[] = [];
    for (let r = 0; r < s.rounds; r++) {
      for (const payloadBytes of s.payloads) {
        for (let k = 0; k < s.systems.length; k++) {
          const system = s.systems[(r + k) % s.systems.length]!;
          const row = await measure(world, system, payloadBytes, s, r);
          console.log(`round ${r + 1}: ${JSON.stringify(row)}`);
          runs.push(row);
        }
      }
    }
    const rows = medians(runs, s);
    const checks = verdicts(rows);
    printTable(rows, s, servers);
    printAb(rows);
    for (const v of checks)
      console.log(
        `${String(v.payloadBytes).padStart(6)} B  ${v.check.padEnd(32)} ${v.ratio.toFixed(2)}x  (target ${v.target}: ${v.pass ? "PASS" : "FAIL"})`,
      );
    const loadAfter = readFileSync("/proc/loadavg", "utf8").trim();
    console.log(`load average at start: ${loadBefore}; at end: ${loadAfter}`);
    mkdirSync(RESULTS, { recursive: true });
    const file = `${RESULTS}e2e-${startedAt.replace(/[:.]/g, "-")}.json`;
    const settingsOut = { ...s, count: Object.fromEntries(s.payloads.map((p) => [p, s.count(p)])) };
    writeFileSync(
      file,
      JSON.stringify(
        { startedAt, loadBefore, loadAfter, settings: settingsOut, runs, rows, verdicts: checks },
        null,
        2,
      ),
    );
    console.log(`written to ${file}`);
    return { rows, verdicts: checks };
  } finally {
    await redis?.stop();
    await servers.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchE2e();
}
