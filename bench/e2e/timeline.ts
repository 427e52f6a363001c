/**
 * The idle round trip, stage by stage, across processes: reads the socket traces bench/e2e/trace.mjs wrote
 * (one file per process) and prints, for each producer, the socket reads and writes of its producer and
 * worker between the start and the end of each round trip, as µs after the start (medians over the round
 * trips that took the most common path).
 *
 *   mkdir /tmp/trace && BENCH_TRACE_DIR=/tmp/trace BENCH_E2E_NODE_ARGS="--import ./bench/e2e/trace.mjs" \
 *     BENCH_E2E_SYSTEMS=raw-single,toolbox BENCH_E2E_PAYLOADS=0 BENCH_E2E_COUNT=1000 BENCH_E2E_ROUNDS=1 \
 *     npx tsx bench/e2e.ts && npx tsx bench/e2e/timeline.ts /tmp/trace
 */
import { readdirSync, readFileSync } from "node:fs";
import { median } from "../stats.js";

type Rec = [number, string, number, number, string];
interface Trace {
  label: string;
  records: Rec[];
}

const dir = process.argv[2];
if (!dir) throw new Error("usage: timeline.ts <BENCH_TRACE_DIR>");
const traces: Trace[] = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, "utf8")) as Trace);

function report(): void {
  for (const producer of traces.filter((t) => t.label.includes("-producer-"))) {
    const marks = producer.records.filter((r) => r[1] === "start" || r[1] === "end");
    const trips: [number, number][] = [];
    for (let i = 0; i + 1 < marks.length; i++)
      if (marks[i]![1] === "start" && marks[i + 1]![1] === "end")
        trips.push([marks[i]![0], marks[i + 1]![0]]);
    if (trips.length === 0) continue;
    const [first, last] = [trips[0]![0], trips.at(-1)![1]];
    const script = producer.label.split("-producer-")[0];
    // The worker of this producer: same script, and its trace covers the round trips.
    const worker = traces.find(
      (t) =>
        t !== producer &&
        t.label.startsWith(`${script}-`) &&
        t.records.some((r) => r[0] >= first && r[0] <= last),
    );
    const sources = [
      { name: "P", records: producer.records },
      { name: "W", records: worker?.records ?? [] },
    ];
    const stages = trips.map(([start, end]) => stagesOf(sources, start, end));
    const total = trips.map(([s, e]) => e - s);
    console.log(
      `\n${producer.label} with ${worker?.label ?? "no worker trace"}: ${trips.length} round trips, median ` +
        `${Math.round(median(total))} µs (p10 ${Math.round(quantile(total, 0.1))}). Stage: median µs after the ` +
        `start (median µs since the stage before, its p10; round trips that had it)`,
    );
    for (const [i, name] of STAGES.map((st) => st.name).entries()) {
      const seen = stages.filter((st) => st[i] !== undefined && (i === 0 || st[i - 1] !== undefined));
      if (seen.length === 0) continue;
      const at = median(seen.map((st) => st[i]!));
      const deltas = seen.map((st) => (i === 0 ? st[i]! : st[i]! - st[i - 1]!));
      const [since, p10] = [median(deltas), quantile(deltas, 0.1)];
      console.log(
        `${String(Math.round(at)).padStart(7)} µs  (+${String(Math.round(since)).padStart(5)}, p10 ` +
          `${String(Math.round(p10)).padStart(5)})  ${name}  [${seen.length}]`,
      );
    }
    console.log(`${String(Math.round(median(total))).padStart(7)} µs  end`);
    const confirms = stages.map((st) => st[STAGES.length]).filter((t): t is number => t !== undefined);
    if (confirms.length > 0)
      console.log(
        `${String(Math.round(median(confirms))).padStart(7)} µs  (beside the chain) the producer reads the confirm`,
      );
  }
}

/** The value below which a share `q` of the values lie (nearest rank). */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

type Event = { t: number; who: string; dir: string; what: string };
/** The stages of a round trip, each the first event matching it after the stage before. */
const STAGES: { name: string; match: (e: Event) => boolean }[] = [
  {
    name: "producer writes the publish",
    match: (e) => e.who === "P" && e.dir === "w" && e.what.startsWith("60.40"),
  },
  {
    name: "worker reads the delivery",
    match: (e) => e.who === "W" && e.dir === "r" && e.what.includes("60.60"),
  },
  { name: "worker writes the row (pg)", match: (e) => e.who === "W" && e.dir === "w" && isPg(e.what) },
  { name: "worker reads the commit", match: (e) => e.who === "W" && e.dir === "r" && /\bZ\b/.test(e.what) },
  {
    name: "worker writes the ack",
    match: (e) => e.who === "W" && e.dir === "w" && e.what.startsWith("60.80"),
  },
  {
    name: "producer reads the NOTIFY",
    match: (e) => e.who === "P" && e.dir === "r" && /^(A|.* A)\b/.test(e.what),
  },
  { name: "producer writes a query (pg)", match: (e) => e.who === "P" && e.dir === "w" && isPg(e.what) },
  { name: "producer reads its reply", match: (e) => e.who === "P" && e.dir === "r" && /\bZ\b/.test(e.what) },
];
/** The producer's confirm, apart from the chain (it runs beside the worker's stages). */
const isPg = (what: string) => /^[A-Za-z] |^[A-Za-z]$/.test(what) && !/^\d/.test(what);

function stagesOf(
  sources: { name: string; records: Rec[] }[],
  start: number,
  end: number,
): (number | undefined)[] {
  const events: Event[] = [];
  for (const { name, records } of sources)
    for (const r of records)
      if (r[0] >= start && r[0] <= end && r[1] !== "start" && r[1] !== "end")
        events.push({ t: r[0] - start, who: name, dir: r[1], what: r[4].replace(/ \(\d+ B\)$/, "") });
  events.sort((a, b) => a.t - b.t);
  const out: (number | undefined)[] = [];
  let from = 0;
  for (const stage of STAGES) {
    const i = events.findIndex((e, k) => k >= from && stage.match(e));
    if (i < 0) {
      out.push(undefined);
      continue;
    }
    out.push(events[i]!.t);
    from = i + 1;
  }
  const confirm = events.find((e) => e.who === "P" && e.dir === "r" && e.what.startsWith("60.80"));
  out.push(confirm?.t);
  return out;
}

report();
