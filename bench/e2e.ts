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
 * flags for every process), BENCH_E2E_PROFILE=<dir> (a CPU profile of every Node process, named after
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
import { entityNames, parseConfig, planTopology, type ToolboxConfigInput } from "@worker-toolbox/config";
import { migrate } from "@worker-toolbox/runtime/results";
import { applyTopology } from "@worker-toolbox/runtime/topology";
import {
  createTestDatabase,
  createTestNamespace,
  type LocalServers,
  startLocalServers,
} from "@worker-toolbox/testing";
import amqp from "amqplib";
import pg from "pg";
import { findCeleryPython, warnCeleryMissing } from "../test/support/celeryPython.js";
import {
  type Child,
  cpuSeconds,
  processTree,
  procMemory,
  rootsByCommandLine,
  startChild,
  sumKb,
  treeCpuSeconds,
} from "./child.js";
import { type CeleryRun, celeryProducerEnv, prepareCelery } from "./e2e/celerySetup.js";
import { PLATFORM_COPIES, type PlatformCopy, replacePlatformCopy, trackerOf } from "./e2e/platformCopy.js";
import { ensureRedisInstalled, type RedisServer, startRedis } from "./redis.js";
import { median, round } from "./stats.js";

/** Each system's processes: the script in bench/e2e/ and the role it is started with. */
const SYSTEMS = {
  "raw-batched": { producer: "raw.mjs", worker: ["raw.mjs", "batched"], server: "rabbitmq" },
  "raw-single": { producer: "raw.mjs", worker: ["raw.mjs", "single"], server: "rabbitmq" },
  toolbox: { producer: "toolbox.mjs", worker: ["toolbox.mjs", "worker"], server: "rabbitmq" },
  // BENCH_E2E_BASE: the same script on another checkout's built packages (an A/B within one run).
  "toolbox-base": { producer: "toolbox.mjs", worker: ["toolbox.mjs", "worker"], server: "rabbitmq" },
  bullmq: { producer: "bullmq.mjs", worker: ["bullmq.mjs", "worker"], server: "redis" },
  // A Python producer; the worker is a Node wrapper around Celery's prefork worker (bench/e2e/celery.mjs).
  celery: { producer: "celery_producer.py", worker: ["celery.mjs", "worker"], server: "rabbitmq" },
} as const;
type Kind = keyof typeof SYSTEMS;
/**
 * A system of SYSTEMS, or a raw pipeline with another platform copy: `raw-batched@stream`, `@lazy` (a lazy
 * classic queue), `@classic`, `@none` (no platform queue: what the copy costs the broker); `toolbox@once`:
 * the toolbox with `database.resultExtended` off (the arguments are not stored in the result row).
 */
type System = Kind | `${"raw-batched" | "raw-single"}@${PlatformCopy}` | "toolbox@once";
const kindOf = (system: System) => system.split("@")[0] as Kind;
const BUILT = fileURLToPath(new URL("../packages/runtime/dist/index.js", import.meta.url));
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));

export type { Kind, System };

export interface E2eRow {
  system: System;
  payloadBytes: number;
  count: number;
  tasksPerSecond: number;
  publishPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU µs per task in the throughput window. */
  cpuProducerUs: number;
  cpuWorkerUs: number;
  /** RabbitMQ for the AMQP systems, Redis for BullMQ (null for servers this bench did not start). */
  cpuBrokerUs: number | null;
  /** PostgreSQL and its backends (null for BullMQ, and when DATABASE_URL names a server of someone else's). */
  cpuDatabaseUs: number | null;
  rssProducerMb: number;
  rssWorkerMb: number;
  /** With BENCH_E2E_TRACKER=on: the platform copy's reader (null without one). */
  cpuTrackerUs: number | null;
  rssTrackerMb: number | null;
  /** 1-minute load average when the run started: how busy the machine was. */
  load: number;
}

interface Settings {
  systems: System[];
  payloads: number[];
  count: (payloadBytes: number) => number;
  samples: number;
  rounds: number;
  prefetch: number;
  concurrency: number;
  nodeArgs: string[];
  profileDir: string | undefined;
  /** BENCH_E2E_TRACKER=on: a third process reads the platform copy as the tracker does (see trackerOf). */
  tracker: boolean;
  /** Celery runs at a few hundred tasks/s and waits 0.5 s per round trip: it gets its own, smaller sizes. */
  celeryCount: number;
  celerySamples: number;
}

function settings(): Settings {
  const list = (name: string, fallback: string) =>
    (process.env[name] ?? fallback)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const systems = list("BENCH_E2E_SYSTEMS", Object.keys(SYSTEMS).join(",")) as System[];
  for (const system of systems) {
    const [kind, copy] = system.split("@");
    if (
      !(kind! in SYSTEMS) ||
      (copy !== undefined &&
        system !== "toolbox@once" &&
        (!kind!.startsWith("raw-") || !(copy in PLATFORM_COPIES)))
    )
      throw new Error(`unknown system ${system}`);
  }
  if (process.env.BENCH_E2E_BASE) {
    const built = `${process.env.BENCH_E2E_BASE}/packages/runtime/dist/index.js`;
    if (!existsSync(built))
      throw new Error(`BENCH_E2E_BASE: ${built} is missing (npm run build there first)`);
    if (!systems.includes("toolbox-base")) systems.push("toolbox-base");
  } else if (systems.includes("toolbox-base"))
    throw new Error("toolbox-base needs BENCH_E2E_BASE=<checkout>");
  const count = Number(process.env.BENCH_E2E_COUNT ?? 20_000);
  const large = Number(process.env.BENCH_E2E_COUNT_LARGE ?? 2_000);
  return {
    systems,
    payloads: list("BENCH_E2E_PAYLOADS", "0,1024,102400").map(Number),
    count: (bytes) => (bytes >= 65_536 ? large : count),
    samples: Number(process.env.BENCH_E2E_SAMPLES ?? 200),
    rounds: Number(process.env.BENCH_E2E_ROUNDS ?? 3),
    prefetch: Number(process.env.BENCH_E2E_PREFETCH ?? 500),
    concurrency: Number(process.env.BENCH_E2E_CONCURRENCY ?? 64),
    nodeArgs: process.env.BENCH_E2E_NODE_ARGS?.split(" ").filter(Boolean) ?? [],
    profileDir: process.env.BENCH_E2E_PROFILE,
    tracker: process.env.BENCH_E2E_TRACKER === "on",
    celeryCount: Number(process.env.BENCH_E2E_CELERY_COUNT ?? 2_000),
    celerySamples: Number(process.env.BENCH_E2E_CELERY_SAMPLES ?? 20),
  };
}

const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

/** The servers' process trees, for their CPU time. */
interface ServerPids {
  rabbitmq: number[];
  postgres: number[];
  redis: number[];
}

function serverCpu(pids: number[]): number | null {
  return pids.length === 0 ? null : pids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
}

interface World {
  servers: LocalServers;
  redis: RedisServer | undefined;
  pids: ServerPids;
  /** The Python with Celery, when the run includes it. */
  celeryPython: string | undefined;
}

/** A process of a run, with how to read its CPU seconds and peak resident set. */
interface Measured {
  child: Child;
  cpu(): number;
  peakMb(): number;
}

/** A Node or Python process is measured alone; Celery's wrapper by the Celery processes under it. */
function measured(child: Child, wrapper: boolean): Measured {
  const under = () => processTree(child.pid).slice(1);
  return wrapper
    ? {
        child,
        cpu: () => under().reduce((sum, pid) => sum + cpuSeconds(pid, true), 0),
        peakMb: () => sumKb(under(), "status", "VmHWM"),
      }
    : { child, cpu: () => cpuSeconds(child.pid), peakMb: () => procMemory(child.pid).hwmMb };
}

/** Start the run's worker, then its producer; each once it reported ready. */
async function startProcesses(
  system: System,
  payloadBytes: number,
  s: Settings,
  roundIndex: number,
  env: NodeJS.ProcessEnv,
  children: Child[],
): Promise<Processes> {
  const spec = SYSTEMS[kindOf(system)];
  const start = (role: string, file: string) => {
    const script = fileURLToPath(new URL(`./e2e/${file}`, import.meta.url));
    const label = `${system}-${role}-${payloadBytes}-r${roundIndex + 1}`;
    const child = file.endsWith(".py")
      ? startChild(label, String(env.BENCH_E2E_PYTHON), [script], env)
      : startChild(label, process.execPath, [...s.nodeArgs, ...profileArgs(s, label), script, role], env);
    children.push(child);
    return child;
  };
  const reader = s.tracker ? trackerOf(system) : undefined;
  const tracker = reader && start(reader[1], reader[0]);
  await tracker?.next("ready");
  const worker = start(spec.worker[1], spec.worker[0]);
  await worker.next("ready");
  const producer = start("producer", spec.producer);
  await producer.next("ready");
  return {
    worker: measured(worker, system === "celery"),
    producer: measured(producer, false),
    tracker: tracker && measured(tracker, false),
  };
}

interface Processes {
  worker: Measured;
  producer: Measured;
  tracker?: Measured | undefined;
}

function profileArgs(s: Settings, label: string): string[] {
  if (!s.profileDir) return [];
  return ["--cpu-prof", `--cpu-prof-dir=${s.profileDir}`, `--cpu-prof-name=${label}.cpuprofile`];
}

/** Warm up, then the timed throughput phase, then the idle round trips. */
async function drive(world: World, system: System, count: number, p: Processes) {
  const { worker, producer, tracker } = p;
  p.producer.child.send("warm");
  await Promise.all([
    producer.child.next("warmed"),
    worker.child.next("warmed"),
    tracker?.child.next("warmed"),
  ]);
  const redis = SYSTEMS[kindOf(system)].server === "redis";
  const cpu = () => ({
    producer: producer.cpu(),
    worker: worker.cpu(),
    broker: serverCpu(redis ? world.pids.redis : world.pids.rabbitmq),
    database: serverCpu(redis ? [] : world.pids.postgres),
    tracker: tracker ? tracker.cpu() : null,
  });
  const before = cpu();
  const started = performance.now();
  producer.child.send("go");
  const [published] = await Promise.all([producer.child.next("published"), worker.child.next("drained")]);
  const seconds = (performance.now() - started) / 1_000;
  // The CPU window runs until the platform copies are stored too, so the broker's work for them is in it.
  await tracker?.child.next("drained");
  const after = cpu();
  producer.child.send("latency");
  const latencies = ((await producer.child.next("latency")).ms as number[]).sort((a, b) => a - b);
  const perTask = (a: number | null, b: number | null) =>
    a === null || b === null ? null : Math.round(((b - a) * 1e6) / count);
  return {
    tasksPerSecond: Math.round(count / seconds),
    publishPerSecond: Math.round(count / ((published.ms as number) / 1_000)),
    p50Ms: round(latencies[Math.floor(latencies.length * 0.5)] ?? 0),
    p99Ms: round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
    cpuProducerUs: perTask(before.producer, after.producer) ?? 0,
    cpuWorkerUs: perTask(before.worker, after.worker) ?? 0,
    cpuBrokerUs: perTask(before.broker, after.broker),
    cpuDatabaseUs: perTask(before.database, after.database),
    rssProducerMb: round(producer.peakMb()),
    rssWorkerMb: round(worker.peakMb()),
    cpuTrackerUs: perTask(before.tracker, after.tracker),
    rssTrackerMb: tracker ? round(tracker.peakMb()) : null,
  };
}

async function measure(
  world: World,
  system: System,
  payloadBytes: number,
  s: Settings,
  roundIndex: number,
): Promise<E2eRow> {
  const celery = system === "celery";
  const count = celery ? Math.min(s.count(payloadBytes), s.celeryCount) : s.count(payloadBytes);
  const load = loadAverage();
  const db = await createTestDatabase(world.servers.databaseUrl, `bench_e2e`);
  const prefix = createTestNamespace(`e2e-${system}`);
  const config: ToolboxConfigInput = {
    mode: "production",
    service: "bench",
    environment: { prefix },
    broker: { url: world.servers.amqpUrl },
    database: { url: db.url, poolSize: 5, resultExtended: system !== "toolbox@once" },
    worker: { prefetch: s.prefetch, concurrency: s.concurrency },
    logLevel: "warn",
  };
  const plan = planTopology(parseConfig(config));
  const rabbit = SYSTEMS[kindOf(system)].server === "rabbitmq";
  const connection = rabbit ? await amqp.connect(world.servers.amqpUrl) : undefined;
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  const children: Child[] = [];
  let celeryRun: CeleryRun | undefined;
  try {
    await migrate(pool, { schema: "public" });
    if (connection) await applyTopology(await connection.createChannel(), plan);
    if (connection && system.startsWith("raw-") && system.includes("@"))
      await replacePlatformCopy(connection, prefix, system);
    if (celery) celeryRun = await prepareCelery(world.celeryPython!, config, s.prefetch);
    const run = {
      config,
      payloadBytes,
      warmup: Math.ceil(count / 10),
      count,
      samples: celery ? Math.min(s.samples, s.celerySamples) : s.samples,
      redis: world.redis ? { host: world.redis.host, port: world.redis.port } : undefined,
      celery: celeryRun?.forWorker,
    };
    const env = {
      BENCH_E2E: JSON.stringify(run),
      // toolbox.mjs imports the packages from here when set (`toolbox-base`), else from this checkout.
      BENCH_E2E_PACKAGES: system === "toolbox-base" ? process.env.BENCH_E2E_BASE : "",
      ...(celeryRun ? celeryProducerEnv(celeryRun) : {}),
    };
    const processes = await startProcesses(system, payloadBytes, s, roundIndex, env, children);
    const figures = await drive(world, system, count, processes);
    await Promise.all(children.map((child) => child.stop()));
    return { system, payloadBytes, count, ...figures, load };
  } finally {
    for (const child of children) child.kill();
    if (connection) {
      const channel = await connection.createChannel();
      for (const queue of plan.queues) await channel.deleteQueue(queue.name).catch(() => undefined);
      const celeryExchanges = [`${prefix}.celery`, `${prefix}.celeryev`, entityNames(prefix).controlExchange];
      for (const exchange of [...plan.exchanges.map((e) => e.name), ...celeryExchanges])
        await channel.deleteExchange(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
    celeryRun?.cleanup();
    await world.redis?.flushAll();
    await pool.end();
    await db.drop();
  }
}

/** PostgreSQL as production runs it: commits flushed to disk (the throwaway server starts with fsync=off). */
async function durablePostgres(servers: LocalServers): Promise<void> {
  if (!servers.postgres || process.env.BENCH_E2E_FSYNC === "off") return;
  const client = new pg.Client({ connectionString: servers.databaseUrl });
  await client.connect();
  await client.query("ALTER SYSTEM SET fsync = on");
  await client.query("ALTER SYSTEM SET full_page_writes = on");
  await client.query("SELECT pg_reload_conf()");
  await client.end();
}

function medians(runs: E2eRow[], s: Settings): E2eRow[] {
  const rows: E2eRow[] = [];
  for (const payloadBytes of s.payloads) {
    for (const system of s.systems) {
      const of = runs.filter((run) => run.system === system && run.payloadBytes === payloadBytes);
      if (of.length === 0) continue;
      const m = (key: keyof E2eRow) => {
        const values = of.map((run) => run[key]).filter((v): v is number => typeof v === "number");
        return values.length === 0 ? null : median(values);
      };
      rows.push({
        system,
        payloadBytes,
        count: of[0]!.count,
        tasksPerSecond: Math.round(m("tasksPerSecond")!),
        publishPerSecond: Math.round(m("publishPerSecond")!),
        p50Ms: round(m("p50Ms")!),
        p99Ms: round(m("p99Ms")!),
        cpuProducerUs: Math.round(m("cpuProducerUs")!),
        cpuWorkerUs: Math.round(m("cpuWorkerUs")!),
        cpuBrokerUs: m("cpuBrokerUs") === null ? null : Math.round(m("cpuBrokerUs")!),
        cpuDatabaseUs: m("cpuDatabaseUs") === null ? null : Math.round(m("cpuDatabaseUs")!),
        rssProducerMb: round(m("rssProducerMb")!),
        rssWorkerMb: round(m("rssWorkerMb")!),
        cpuTrackerUs: m("cpuTrackerUs") === null ? null : Math.round(m("cpuTrackerUs")!),
        rssTrackerMb: m("rssTrackerMb") === null ? null : round(m("rssTrackerMb")!),
        load: round(m("load")!),
      });
    }
  }
  return rows;
}

export interface E2eVerdict {
  payloadBytes: number;
  check: string;
  ratio: number;
  target: string;
  pass: boolean;
}

/** The issue's targets, as ratios within the run (only those whose systems ran). */
function verdicts(rows: E2eRow[]): E2eVerdict[] {
  const out: E2eVerdict[] = [];
  const payloads = [...new Set(rows.map((row) => row.payloadBytes))];
  for (const payloadBytes of payloads) {
    const get = (system: System) => rows.find((r) => r.system === system && r.payloadBytes === payloadBytes);
    const toolbox = get("toolbox");
    if (!toolbox) continue;
    const add = (check: string, ratio: number, target: string, pass: boolean) =>
      out.push({ payloadBytes, check, ratio: Math.round(ratio * 100) / 100, target, pass });
    const large = payloadBytes >= 65_536;
    const bull = get("bullmq");
    const batched = get("raw-batched");
    const single = get("raw-single");
    if (bull && !large) {
      const r = toolbox.tasksPerSecond / bull.tasksPerSecond;
      add("tasks/s vs bullmq", r, ">= 1.0", r >= 1);
    }
    if (batched) {
      const r = toolbox.tasksPerSecond / batched.tasksPerSecond;
      add("tasks/s vs raw-batched", r, large ? ">= 0.8" : ">= 0.9", r >= (large ? 0.8 : 0.9));
      const m = toolbox.rssWorkerMb / batched.rssWorkerMb;
      add("worker peak RSS vs raw-batched", m, "<= 1.3", m <= 1.3);
    }
    if (single) {
      const r = toolbox.p50Ms / single.p50Ms;
      add("idle p50 vs raw-single", r, "<= 1.5", r <= 1.5);
    }
  }
  return out;
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

function printTable(rows: E2eRow[], s: Settings, servers: LocalServers): void {
  console.log(
    `\nEnd to end: producer + worker processes at once; N = ${s.payloads.map((p) => `${s.count(p)} at ${p} B`).join(", ")}` +
      ` (+10% warm-up), ${s.samples} idle round trips; prefetch ${s.prefetch}, concurrency ${s.concurrency}; ` +
      `median of ${s.rounds} round(s); servers ${servers.started ? "throwaway" : "from AMQP_URL/DATABASE_URL"}` +
      `; PostgreSQL fsync ${servers.postgres && process.env.BENCH_E2E_FSYNC !== "off" ? "on" : "as configured"}`,
  );
  const table = rows.map((row) => {
    const base = rows.find((r) => r.payloadBytes === row.payloadBytes && r.system === "raw-batched");
    return {
      payload: `${row.payloadBytes} B`,
      system: row.system,
      "tasks/s": row.tasksPerSecond,
      "x raw-batched": base ? Math.round((row.tasksPerSecond / base.tasksPerSecond) * 100) / 100 : "-",
      "publish/s": row.publishPerSecond,
      "p50 ms": row.p50Ms,
      "p99 ms": row.p99Ms,
      "CPU µs/task prod": row.cpuProducerUs,
      worker: row.cpuWorkerUs,
      broker: row.cpuBrokerUs ?? "-",
      db: row.cpuDatabaseUs ?? "-",
      "RSS MB prod": row.rssProducerMb,
      "RSS MB worker": row.rssWorkerMb,
      ...(s.tracker
        ? { "CPU tracker": row.cpuTrackerUs ?? "-", "RSS MB tracker": row.rssTrackerMb ?? "-" }
        : {}),
    };
  });
  console.table(table);
}

/** With BENCH_E2E_BASE: toolbox against toolbox-base, per payload (this checkout / the base, < 1 is less). */
function printAb(rows: E2eRow[]): void {
  const keys = [
    "cpuProducerUs",
    "cpuWorkerUs",
    "cpuBrokerUs",
    "cpuDatabaseUs",
    "p50Ms",
    "tasksPerSecond",
  ] as const;
  for (const payloadBytes of new Set(rows.map((row) => row.payloadBytes))) {
    const of = (system: System) => rows.find((r) => r.system === system && r.payloadBytes === payloadBytes);
    const [a, b] = [of("toolbox"), of("toolbox-base")];
    if (!a || !b) continue;
    const parts = keys.map((key) => {
      const [x, y] = [a[key], b[key]];
      return `${key} ${x ?? "-"} / ${y ?? "-"}${x && y ? ` (${(x / y).toFixed(2)}x)` : ""}`;
    });
    console.log(`${String(payloadBytes).padStart(6)} B  toolbox / toolbox-base: ${parts.join(", ")}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchE2e();
}
