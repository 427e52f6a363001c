/** The end-to-end run's figures: medians over rounds, the issue's targets as ratios, the printed tables. */
import type { LocalServers } from "@worker-toolbox/testing";
import { median, round } from "../stats.js";
import type { E2eRow } from "./measure.js";
import type { Settings, System } from "./settings.js";

export function medians(runs: E2eRow[], s: Settings): E2eRow[] {
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
export function verdicts(rows: E2eRow[]): E2eVerdict[] {
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

export function printTable(rows: E2eRow[], s: Settings, servers: LocalServers): void {
  console.log(
    `\nEnd to end: producer + worker processes at once; N = ${s.payloads.map((p) => `${s.count(p)} at ${p} B`).join(", ")}` +
      ` (+10% warm-up), ${s.samples} idle round trips; prefetch ${s.prefetch}, concurrency ${s.concurrency}; ` +
      `median of ${s.rounds} round(s); servers ${servers.started ? "throwaway" : "from AMQP_URL/DATABASE_URL"}` +
      `; PostgreSQL fsync ${servers.postgres && process.env.BENCH_E2E_FSYNC !== "off" ? "on" : "as configured"}` +
      `; worker processes: node ${s.workerNodeArgs.join(" ") || "(default flags)"}`,
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
export function printAb(rows: E2eRow[]): void {
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
