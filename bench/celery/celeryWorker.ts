/**
 * The Python Celery worker of bench/celery.ts as a child process: started in the run's directory with the
 * printed settings, ready when bench/celery_bench.py prints `{"event": "ready"}`, stopped with a warm
 * shutdown; and its processes' summed memory, sampled while it runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { processTree, sumKb } from "../child.js";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));

export type CeleryPool = "prefork" | "solo";

export interface CeleryWorker {
  pid: number;
  /** Rejects, with the worker's output, when it exits (never resolves). */
  exited: Promise<never>;
  ready: Promise<void>;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** Warm shutdown (SIGTERM), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

export function startCeleryWorker(
  python: string,
  options: { pool: CeleryPool; concurrency: number; dir: string; queue: string; prefix: string },
): CeleryWorker {
  const args = ["-m", "celery", "-A", "celery_bench", "worker", "--pool", options.pool, "--concurrency"];
  args.push(String(options.concurrency), "-Q", options.queue, "-n", `bench-${options.prefix}@localhost`);
  args.push("--without-mingle", "--without-gossip", "--without-heartbeat", "--loglevel", "WARNING");
  const child = spawn(python, args, {
    cwd: options.dir,
    env: {
      ...process.env,
      PYTHONPATH: [options.dir, BENCH_DIR].join(":"),
      WT_CELERY_SETTINGS: "wt_celery_bench_settings",
      PYTHONDONTWRITEBYTECODE: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) =>
      reject(new Error(`the Celery worker exited (${code ?? signal}); its output:\n${log}`)),
    ),
  );
  exited.catch(() => undefined);
  const ready = new Promise<void>((resolve) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('{"event": "ready"}')) resolve();
    });
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  return { pid: child.pid as number, exited, ready, output: () => log, stop: () => stopWorker(child) };
}

async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const gone = new Promise((resolve) => worker.once("exit", resolve));
  worker.kill("SIGTERM"); // warm shutdown
  await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL");
}

export interface MemoryPeaks {
  rssMb: number;
  pssMb: number;
  processes: number;
}

/**
 * The summed resident sets of `pid`'s process tree every 50 ms (PSS every 10th tick: smaps_rollup walks the
 * page tables); `stop()` ends the sampling and returns the peaks.
 */
export function sampleMemory(pid: number): { peaks: MemoryPeaks; stop(): void } {
  const peaks: MemoryPeaks = { rssMb: 0, pssMb: 0, processes: 0 };
  let ticks = 0;
  const sampler = setInterval(() => {
    const tree = processTree(pid);
    peaks.processes = Math.max(peaks.processes, tree.length);
    peaks.rssMb = Math.max(peaks.rssMb, sumKb(tree, "status", "VmRSS"));
    if (ticks++ % 10 === 0) peaks.pssMb = Math.max(peaks.pssMb, sumKb(tree, "smaps_rollup", "Pss"));
  }, 50);
  return { peaks, stop: () => clearInterval(sampler) };
}
