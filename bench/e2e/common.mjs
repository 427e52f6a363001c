/**
 * What every process of the end-to-end bench shares (bench/e2e.ts starts them). Plain JavaScript on the BUILT
 * packages, so no process pays for a TypeScript loader.
 *
 * BENCH_E2E (JSON) describes the run: { role, config (the toolbox config input), payloadBytes, warmup, count,
 * samples, redis: { host, port } }. Events go to stdout, one JSON object a line; commands come on stdin, one a
 * line. A producer answers `warm` (send the warm-up tasks) with `warmed`, `go` (send the measured tasks) with
 * `published {ms}`, `latency` (one task at a time, publish → result readable) with `latency {ms: [...]}`.
 * A worker reports `warmed` once the warm-up tasks are done and `drained` once all are. `stop` ends either.
 */
import { createInterface } from "node:readline";

export const run = JSON.parse(process.env.BENCH_E2E ?? "{}");
export const TASK = "bench.payload";
/** Round trips not counted: the first ones after the throughput phase warm connections up. */
const WARM_SAMPLES = 10;

export const report = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

/** The task's second argument: `bytes` ASCII characters (the first is the task's number). */
export const payload = "abcdefghijklmnopqrstuvwxyz0123456789"
  .repeat(Math.ceil(run.payloadBytes / 36) + 1)
  .slice(0, run.payloadBytes);

/** Task numbers: warm-up tasks first, then the measured ones, then the round trips. */
export const ranges = {
  warm: [0, run.warmup],
  go: [run.warmup, run.warmup + run.count],
  latency: run.warmup + run.count,
};

/**
 * The producer's side: `send(from, to)` publishes tasks [from, to) and resolves once all are confirmed;
 * `roundTrip(n)` sends task n and resolves once its result can be read.
 */
export function serveProducer({ send, roundTrip, close }) {
  serve({
    warm: async () => {
      await send(...ranges.warm);
      report({ event: "warmed" });
    },
    go: async () => {
      const started = performance.now();
      await send(...ranges.go);
      report({ event: "published", ms: performance.now() - started });
    },
    latency: async () => {
      const ms = [];
      for (let i = 0; i < run.samples + WARM_SAMPLES; i++) {
        const started = performance.now();
        globalThis.benchMark?.("start"); // bench/e2e/trace.mjs, when preloaded
        await roundTrip(ranges.latency + i);
        if (i >= WARM_SAMPLES) ms.push(performance.now() - started);
        globalThis.benchMark?.("end");
      }
      report({ event: "latency", ms });
    },
    stop: close,
  });
}

/** The worker's side: call `progress(total done)` as tasks finish (or from a poll); `stop` runs `close`. */
export function serveWorker({ close }) {
  const warmAt = run.warmup;
  const allAt = run.warmup + run.count;
  let warmed = false;
  let drained = false;
  serve({ stop: close });
  return (done) => {
    if (!warmed && done >= warmAt) {
      warmed = true;
      report({ event: "warmed" });
    }
    if (!drained && done >= allAt) {
      drained = true;
      report({ event: "drained" });
    }
  };
}

function serve(handlers) {
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on("line", (line) => {
    const handler = handlers[line.trim()];
    if (!handler) return;
    queue = queue.then(async () => {
      await handler();
      if (line.trim() === "stop") process.exit(0);
    });
    queue.catch((error) => {
      console.error(error);
      process.exit(1);
    });
  });
  report({ event: "ready" });
}
