import { readFileSync } from "node:fs";

/**
 * The Node flags a generated service starts its worker with: those of the `start` script in
 * templates/worker/package.json.hbs (`node <flags> dist/worker.js`, also the Dockerfile's and the systemd
 * unit's). The end-to-end bench starts every system's worker process with them (BENCH_E2E_WORKER_NODE_ARGS
 * overrides, `none` for Node's defaults), so the toolbox's worker runs as users run it and the others the same.
 */
export function generatedWorkerFlags(): string[] {
  const template = readFileSync(new URL("../../templates/worker/package.json.hbs", import.meta.url), "utf8");
  const start = /"start":\s*"node ((?:--\S+ )*)dist\/worker\.js"/.exec(template);
  if (!start)
    throw new Error("templates/worker/package.json.hbs: no `node [flags] dist/worker.js` start script");
  return start[1]!.split(" ").filter(Boolean);
}

/** BENCH_E2E_WORKER_NODE_ARGS (`none`: no flags), else the generated service's. */
export function workerNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  const set = env.BENCH_E2E_WORKER_NODE_ARGS;
  if (set === undefined) return generatedWorkerFlags();
  return set === "none" ? [] : set.split(" ").filter(Boolean);
}
