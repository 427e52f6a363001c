/**
 * `npm run bench`: every benchmark, one after the other (they would skew each other if run in parallel).
 * BENCH_ONLY=worker (or producer, tracker, celery, dashboard, cli, e2e, params; comma-separated) runs a subset.
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
  e2e: () => import("./e2e.js").then(({ benchE2e }) => benchE2e()),
  params: () => import("./resultParams.js").then(({ benchResultParams }) => benchResultParams()),
};
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
for (const [name, run] of Object.entries(benches)) {
  if (only && !only.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  const result = await run();
  if (result !== undefined && name !== "worker" && name !== "e2e" && name !== "params")
    console.log(JSON.stringify(result, null, 2));
}
