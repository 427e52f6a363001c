/**
 * `npm run bench`: every benchmark, one after the other (they would skew each other if run in parallel).
 * BENCH_ONLY=worker (or producer, tracker, celery, cli; comma-separated) runs a subset.
 */
import { benchCliStartup } from "./cliStartup.js";
import { benchProducer } from "./producer.js";
import { benchTracker } from "./tracker.js";
import { benchWorker } from "./worker.js";

const benches: Record<string, () => Promise<unknown>> = {
  producer: () => benchProducer(),
  tracker: () => benchTracker(),
  worker: () => benchWorker(),
  celery: () => import("./celery.js").then(({ benchCelery }) => benchCelery()),
  dashboard: () => import("./dashboard.js").then(({ benchDashboard }) => benchDashboard()),
  cli: async () => benchCliStartup(),
};
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
for (const [name, run] of Object.entries(benches)) {
  if (only && !only.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  const result = await run();
  if (result !== undefined && name !== "worker") console.log(JSON.stringify(result, null, 2));
}
