import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { celeryConfigOutput, findCeleryPython } from "./celeryPython.js";

/**
 * A real Python Celery worker (Debian's python3-celery) for interop tests, configured only with what
 * `worker-toolbox celery-config` prints, running test/interop/interop_tasks.py. Python is slow to start,
 * so a test file starts one and shares it; `run()` runs a Python snippet (a producer, an inspector) with
 * the same settings.
 */
const TASKS_DIR = fileURLToPath(new URL("../interop/", import.meta.url));

export interface PythonCeleryOptions {
  prefix: string;
  /** Services whose settings are printed; the first one's queue is the worker's unless `queues` says otherwise. */
  services: string[];
  amqpUrl: string;
  databaseUrl: string;
  /** WT_* variables for `celery-config` (e.g. WT_WORKER_PREFETCH). */
  env?: Record<string, string>;
}

export interface PythonCelery {
  dir: string;
  /** Start `celery worker` consuming `queues` (default: the first service's queue); resolves once it is ready. */
  startWorker(options?: { queues?: string[]; name?: string; args?: string[] }): Promise<PythonWorker>;
  /** Run a Python snippet with the settings module importable as `wt_celery_settings` and the tasks as `interop_tasks`. */
  run(
    code: string,
    env?: Record<string, string>,
    timeoutMs?: number,
  ): Promise<{ code: number | null; out: string }>;
  /** Start a Python script (a path, or `-c` code) and follow its output while it runs. */
  start(args: string[], env?: Record<string, string>, timeoutMs?: number): PythonProcess;
  close(): Promise<void>;
}

export interface PythonProcess {
  /** Resolves when a line of the output starts with `prefix` (the rest of the line). */
  line(prefix: string): Promise<string>;
  exited: Promise<{ code: number | null; out: string }>;
  output(): string;
}

export interface PythonWorker {
  readonly name: string;
  log(): string;
  /** Kill it at once (SIGKILL): no worker-offline event, no goodbye; resolves when it is gone. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function pythonCelery(options: PythonCeleryOptions): Promise<PythonCelery> {
  const celery = findCeleryPython();
  if (!celery.found) throw new Error(celery.reason);
  const dir = mkdtempSync(join(tmpdir(), "wt-py-celery-"));
  const settings = await celeryConfigOutput({
    prefix: options.prefix,
    service: options.services,
    amqpUrl: options.amqpUrl,
    databaseUrl: options.databaseUrl,
    ...(options.env ? { env: options.env } : {}),
  });
  writeFileSync(join(dir, "wt_celery_settings.py"), settings);
  const env = {
    ...process.env,
    PYTHONPATH: [dir, TASKS_DIR].join(":"),
    WT_CELERY_SETTINGS: "wt_celery_settings",
    PYTHONDONTWRITEBYTECODE: "1",
  };
  const workers = new Set<PythonWorker>();
  const spawnPython = (args: string[], extraEnv: Record<string, string> = {}) =>
    spawn(celery.python, args, { cwd: dir, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });

  return {
    dir,
    async startWorker(start = {}) {
      const name = start.name ?? `py-${options.prefix}@localhost`;
      const queues = start.queues ?? [`${options.prefix}.${options.services[0]}`];
      const child = spawnPython([
        "-m",
        "celery",
        "-A",
        "interop_tasks",
        "worker",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-mingle",
        "--without-gossip",
        "-Q",
        queues.join(","),
        "-n",
        name,
        ...(start.args ?? []),
      ]);
      const worker = trackWorker(child, name);
      workers.add(worker);
      await worker.ready;
      return worker;
    },
    run(code, extraEnv = {}, timeoutMs = 60_000) {
      return followProcess(spawnPython(["-c", code], extraEnv), timeoutMs).exited;
    },
    start(args, extraEnv = {}, timeoutMs = 120_000) {
      const child = spawnPython(args, extraEnv);
      return followProcess(child, timeoutMs);
    },
    async close() {
      await Promise.all([...workers].map((worker) => worker.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function followProcess(child: ChildProcess, timeoutMs: number): PythonProcess {
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const wake of waiters) wake();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
      for (const wake of waiters) wake();
    });
  });
  // Whole lines only: a chunk can end mid-line (a long JSON line arrives in pieces) until the process exits.
  const find = (prefix: string) => {
    const lines = out.split("\n");
    if (child.exitCode === null && child.signalCode === null) lines.pop();
    return lines.find((line) => line.startsWith(prefix))?.slice(prefix.length);
  };
  return {
    exited,
    output: () => out,
    line: (prefix) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = find(prefix);
          if (found !== undefined) {
            waiters.delete(check);
            resolve(found.trim());
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`python exited before printing ${prefix}:\n${out}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

function trackWorker(child: ChildProcess, name: string): PythonWorker & { ready: Promise<void> } {
  let log = "";
  let onReady: () => void = () => {};
  let onExit: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onExit = reject;
  });
  const collect = (chunk: Buffer) => {
    log += chunk.toString();
    if (/ ready\.\s*$/m.test(log)) onReady();
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  child.once("exit", (code, signal) => onExit(new Error(`celery worker exited ${code ?? signal}:\n${log}`)));
  const timer = setTimeout(() => onExit(new Error(`celery worker not ready after 60 s:\n${log}`)), 60_000);
  void ready.finally(() => clearTimeout(timer)).catch(() => undefined);
  return {
    name,
    ready,
    log: () => log,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
