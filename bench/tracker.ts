/**
 * Tracker backlog drain: N Celery task messages are queued on the platform queue (the default quorum queue)
 * by this process, then a tracker **in its own process** (bench/tracker/drain.mjs, the built packages) drains
 * them into the tracking table. Reported per payload: messages/s and the tracker process's peak resident set
 * (VmHWM), so what is measured is the tracker alone, not the publisher that built the backlog.
 *
 *   npm run build && npx tsx bench/tracker.ts        (or BENCH_ONLY=tracker npm run bench)
 * Env: BENCH_TRACKER_COUNT (100000), BENCH_TRACKER_PAYLOADS (0,1024,102400: bytes of the task's second
 * argument), BENCH_TRACKER_COUNT_LARGE (2000, for payloads of 64 KB and more), BENCH_TRACKER_QUEUE (quorum |
 * classic), BENCH_TRACKER_BASE=<another built checkout> (its tracker too, run before this one: an A/B),
 * BENCH_TRACKER_PREFETCH (both checkouts), BENCH_TRACKER_SETTINGS (JSON of `tracker.*` settings for this
 * checkout only, e.g. '{"prefetch":1000,"batchSize":500}': the base keeps its defaults),
 * BENCH_TRACKER_NODE_ARGS (node flags of the tracker process). Uses AMQP_URL / DATABASE_URL when set, else
 * starts throwaway servers.
 */
import { fileURLToPath } from "node:url";
import { parseConfig, planTopology, type ToolboxConfigInput } from "@worker-toolbox/config";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { createDatabasePool, migrate } from "@worker-toolbox/runtime/results";
import { applyTopology } from "@worker-toolbox/runtime/topology";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type LocalServers,
  startLocalServers,
} from "@worker-toolbox/testing";
import amqp from "amqplib";
import { cpuSeconds, procMemory, startChild } from "./child.js";

export interface TrackerRow {
  code: "this" | "base";
  payloadBytes: number;
  count: number;
  stored: number;
  seconds: number;
  perSecond: number;
  /** The tracker process's CPU time (user + system) while draining, per message. */
  cpuUs: number;
  /** The tracker process's peak resident set (VmHWM), and its resident set once started and idle. */
  peakRssMb: number;
  idleRssMb: number;
  /** The most bytes of message bodies the tracker held unacknowledged at once (its byte window). */
  peakHeldMb: number;
  /** Sampled peaks (every 20 ms) of the V8 heap's used and reserved size and of memory outside it, MB. */
  peakHeapUsedMb: number;
  peakHeapTotalMb: number;
  peakExternalMb: number;
  load: number;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const DRAIN = fileURLToPath(new URL("./tracker/drain.mjs", import.meta.url));
const loadAverage = async () =>
  Number((await import("node:fs")).readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

/** Queue `count` task messages with a `payloadBytes` argument on the platform queue (and nowhere else). */
async function fillBacklog(amqpUrl: string, prefix: string, count: number, payloadBytes: number) {
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createConfirmChannel();
  const payload = "abcdefghijklmnopqrstuvwxyz0123456789"
    .repeat(Math.ceil(payloadBytes / 36) + 1)
    .slice(0, payloadBytes);
  for (let i = 0; i < count; i++) {
    const { content, properties } = encodeTaskMessage(
      newTaskMessage({ task: "bench.payload", args: [i, payload], kwargs: { i } }),
    );
    if (!channel.publish(`${prefix}.tasks`, "bench.payload", content, properties))
      await new Promise((r) => channel.once("drain", r));
    if (i % 1_000 === 999) await channel.waitForConfirms();
  }
  await channel.waitForConfirms();
  await connection.close();
}

async function drainOnce(
  servers: LocalServers,
  code: TrackerRow["code"],
  payloadBytes: number,
  count: number,
): Promise<TrackerRow> {
  const database = await createTestDatabase(servers.databaseUrl, "benchtrk");
  const prefix = createTestNamespace("btrk");
  const input: ToolboxConfigInput = {
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    database: { url: database.url },
    queue: { type: (process.env.BENCH_TRACKER_QUEUE ?? "quorum") as "quorum" | "classic" },
    tracker: {
      ...(process.env.BENCH_TRACKER_PREFETCH ? { prefetch: Number(process.env.BENCH_TRACKER_PREFETCH) } : {}),
      // Settings to try on this checkout only: the base runs its own defaults.
      ...(code === "this" ? JSON.parse(process.env.BENCH_TRACKER_SETTINGS ?? "{}") : {}),
    },
    logLevel: "warn",
  };
  const config = parseConfig(input);
  const pool = createDatabasePool(config);
  const nodeArgs = process.env.BENCH_TRACKER_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const base = process.env.BENCH_TRACKER_BASE;
  const child = startChild(`tracker-${code}-${payloadBytes}`, process.execPath, [...nodeArgs, DRAIN], {
    BENCH_TRACKER: JSON.stringify({ config: input, count }),
    ...(code === "base" && base ? { BENCH_TRACKER_ROOT: base } : {}),
  });
  try {
    await migrate(pool, { schema: "public" });
    const connection = await amqp.connect(servers.amqpUrl);
    await applyTopology(await connection.createChannel(), planTopology(config, []));
    await connection.close();
    await fillBacklog(servers.amqpUrl, prefix, count, payloadBytes);
    await child.next("ready");
    const load = await loadAverage();
    const idleRssMb = procMemory(child.pid).rssMb;
    const cpuBefore = cpuSeconds(child.pid);
    child.send("go");
    const drained = await child.next("drained");
    const cpuUs = Math.round(((cpuSeconds(child.pid) - cpuBefore) * 1e6) / count);
    if (drained.heapUsedAfterGc !== undefined)
      console.log(`heap used after the drain and a full GC: ${mb(drained.heapUsedAfterGc as number)} MB`);
    const peakRssMb = procMemory(child.pid).hwmMb;
    await child.stop();
    const { rows } = await pool.query("select count(*)::int as n from worker_toolbox_tasks");
    const seconds = drained.seconds as number;
    const memory = drained.peakMemory as Record<"heapUsed" | "heapTotal" | "external", number>;
    return {
      code,
      payloadBytes,
      count,
      stored: rows[0].n as number,
      seconds: Math.round(seconds * 10) / 10,
      perSecond: Math.round(count / seconds),
      cpuUs,
      peakRssMb: Math.round(peakRssMb),
      idleRssMb: Math.round(idleRssMb),
      peakHeldMb: mb(drained.peakHeldBytes as number),
      peakHeapUsedMb: mb(memory.heapUsed),
      peakHeapTotalMb: mb(memory.heapTotal),
      peakExternalMb: mb(memory.external),
      load,
    };
  } finally {
    child.kill();
    await pool.end();
    await database.drop();
    if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix).catch(() => undefined);
  }
}

export async function benchTracker(): Promise<TrackerRow[]> {
  const count = Number(process.env.BENCH_TRACKER_COUNT ?? 100_000);
  const large = Number(process.env.BENCH_TRACKER_COUNT_LARGE ?? 2_000);
  const payloads = (process.env.BENCH_TRACKER_PAYLOADS ?? "0,1024,102400").split(",").map(Number);
  const codes: TrackerRow["code"][] = process.env.BENCH_TRACKER_BASE ? ["base", "this"] : ["this"];
  const servers = await startLocalServers();
  const rows: TrackerRow[] = [];
  try {
    for (const payloadBytes of payloads) {
      for (const code of codes) {
        const row = await drainOnce(servers, code, payloadBytes, payloadBytes >= 65_536 ? large : count);
        console.log(
          `tracker (${code}) ${payloadBytes} B: ${row.stored}/${row.count} in ${row.seconds} s = ${row.perSecond}/s, CPU ${row.cpuUs} µs/message, ` +
            `peak RSS ${row.peakRssMb} MB (idle ${row.idleRssMb} MB), held at most ${row.peakHeldMb} MB; ` +
            `heap used ${row.peakHeapUsedMb} / reserved ${row.peakHeapTotalMb} MB, outside it ${row.peakExternalMb} MB; load ${row.load}`,
        );
        rows.push(row);
      }
    }
  } finally {
    await servers.stop();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchTracker()));
}
