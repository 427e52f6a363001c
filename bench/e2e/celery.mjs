/**
 * Python Celery's own worker for bench/e2e.ts, run as bench/celery.ts runs it (prefork, the settings
 * `worker-toolbox celery-config` printed, the database result backend): `node bench/e2e/celery.mjs worker`.
 * Celery has no hook the bench can see when a task is acked, so this wrapper watches the result table
 * (every 10 ms) and reports warmed/drained from the count of stored rows. The bench counts the CPU and
 * memory of the Celery processes under this wrapper, not the wrapper's own.
 *
 * BENCH_E2E as common.mjs, plus celery: { python, settingsDir, queue, concurrency }.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { failOnPgError } from "../pgErrors.mjs";
import { run, serveWorker } from "./common.mjs";

const { python, settingsDir, queue, concurrency } = run.celery;
const benchDir = fileURLToPath(new URL("..", import.meta.url));
const args = ["-m", "celery", "-A", "celery_bench", "worker", "--pool", "prefork", "--concurrency"];
args.push(String(concurrency), "-Q", queue, "-n", `bench-${run.config.environment.prefix}@localhost`);
args.push("--without-mingle", "--without-gossip", "--without-heartbeat", "--loglevel", "WARNING");
const celery = spawn(python, args, {
  cwd: settingsDir,
  env: {
    ...process.env,
    PYTHONPATH: [settingsDir, benchDir].join(":"),
    WT_CELERY_SETTINGS: "wt_celery_bench_settings",
    PYTHONDONTWRITEBYTECODE: "1",
  },
  stdio: ["ignore", "pipe", "inherit"],
});
celery.on("exit", (code, signal) => {
  if (!stopping) {
    console.error(`the Celery worker exited (${code ?? signal})`);
    process.exit(1);
  }
});
let stopping = false;
await new Promise((resolve) => {
  let out = "";
  celery.stdout.on("data", (chunk) => {
    out += chunk.toString();
    if (out.includes('{"event": "ready"}')) resolve();
  });
});

const client = failOnPgError(new pg.Client({ connectionString: run.config.database.url }), "client");
await client.connect();
let polling = true;
const progress = serveWorker({
  close: async () => {
    polling = false;
    stopping = true;
    const gone = new Promise((resolve) => celery.once("exit", resolve));
    celery.kill("SIGTERM"); // warm shutdown
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    if (celery.exitCode === null && celery.signalCode === null) celery.kill("SIGKILL");
    await client.end();
  },
});
while (polling) {
  const { rows } = await client.query(
    "SELECT count(*)::int AS n FROM celery_taskmeta WHERE status = 'SUCCESS'",
  );
  progress(rows[0].n);
  if (rows[0].n >= run.warmup + run.count) break;
  await new Promise((resolve) => setTimeout(resolve, 10));
}
