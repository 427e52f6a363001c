/**
 * The tracker process of bench/tracker.ts: `node bench/tracker/drain.mjs`, BENCH_TRACKER (JSON) = { config,
 * count }. Plain JavaScript on the BUILT packages of BENCH_TRACKER_ROOT (default: this checkout; another
 * built checkout for an A/B), so the process holds only the tracker. Prints `ready`; on `go` starts the
 * tracker on the backlog already queued and prints `drained` { seconds, stored, peakHeldBytes } once every
 * message is stored; `stop` closes it.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = process.env.BENCH_TRACKER_ROOT ?? fileURLToPath(new URL("../../", import.meta.url));
const load = (path) => import(pathToFileURL(join(root, path)).href);
const { parseConfig } = await load("packages/config/dist/index.js");
const { createTracker } = await load("packages/runtime/dist/index.js");
const { pino } = await import(pathToFileURL(createRequire(join(root, "package.json")).resolve("pino")).href);

const run = JSON.parse(process.env.BENCH_TRACKER ?? "{}");
const report = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const tracker = createTracker({ config: parseConfig(run.config), logger: pino({ level: "warn" }) });

const commands = {
  go: async () => {
    const started = performance.now();
    await tracker.start();
    // Where the memory is, sampled: the V8 heap (used and reserved) and Buffers outside it, at their peaks.
    const peak = { heapUsed: 0, heapTotal: 0, external: 0 };
    while (tracker.stats.stored < run.count) {
      const m = process.memoryUsage();
      for (const key of Object.keys(peak)) peak[key] = Math.max(peak[key], m[key]);
      await new Promise((r) => setTimeout(r, 20));
    }
    // With --expose-gc: what is still reachable after the drain (a leak shows here, garbage does not).
    globalThis.gc?.();
    report({
      event: "drained",
      heapUsedAfterGc: globalThis.gc ? process.memoryUsage().heapUsed : undefined,
      seconds: (performance.now() - started) / 1000,
      stored: tracker.stats.stored,
      peakHeldBytes: tracker.stats.peakHeldBytes,
      peakMemory: peak,
    });
  },
  stop: async () => {
    await tracker.close();
    process.exit(0);
  },
};
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  const command = commands[line.trim()];
  if (!command) return;
  queue = queue.then(command).catch((error) => {
    console.error(error);
    process.exit(1);
  });
});
report({ event: "ready" });
