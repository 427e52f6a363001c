import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { serverFailed } from "./failure.js";
import { stopGroup, untrackDir, untrackGroup } from "./processes.js";

/** What the throwaway RabbitMQ and PostgreSQL servers have in common: one process group, started again and again. */
export interface ServerLifecycle {
  readonly running: boolean;
  /** The server process (leader of its group) while it runs. */
  readonly pid: number | undefined;
  /** Start the server (again, with the same data and ports); resolves once it answers. */
  start(): Promise<void>;
  /** Graceful shutdown; keeps the data unless `removeData`. */
  stop(options?: { removeData?: boolean }): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL the whole group: a crash, for fault-injection tests. */
  kill(): Promise<void>;
  /** Kill the server and remove its temp dir; start() fails afterwards. */
  dispose(): Promise<void>;
}

export interface ServerLifecycleOptions {
  /** How errors name the server, e.g. "test PostgreSQL on port 5433". */
  name: string;
  /** The temp dir dispose() removes. */
  dir: string;
  /** A directory the caller chose and keeps (`worker-toolbox dev`): dispose() and a failed start leave it. */
  keepDir?: boolean;
  /** What stop({ removeData: true }) removes. */
  dataDir: string;
  /** Start the server process as the leader of a new group (spawnServer). */
  spawn(): ChildProcess;
  /**
   * Resolve once the server answers; throw (serverFailed, with the logs) when it cannot. `exited()` says how
   * the process ended ("exited with SIGKILL") once it did, so a dead server fails at once, not at the deadline.
   * The lifecycle kills what is left of the group after a throw.
   */
  awaitReady(exited: () => string | undefined): Promise<void>;
  /** The signal that makes the server shut down cleanly, and how long it may take before SIGKILL. */
  stopSignal: NodeJS.Signals;
  stopGraceMs: number;
  /** Runs in dispose() after the server is gone (RabbitMQ's private epmd). */
  afterKill?(): Promise<void>;
}

/** Start, stop, kill, restart and dispose a server process; the first start happens here. */
export async function startServerLifecycle(options: ServerLifecycleOptions): Promise<ServerLifecycle> {
  let child: ChildProcess | undefined;
  let disposed = false;

  const stopChild = async (signal: NodeJS.Signals | null): Promise<void> => {
    const current = child;
    child = undefined;
    if (!current?.pid) return;
    await stopGroup(current, signal, options.stopGraceMs);
    untrackGroup(current.pid);
  };

  const start = async (): Promise<void> => {
    if (disposed) throw serverFailed(`${options.name} was disposed; start a new one`);
    if (child) return;
    const started = options.spawn();
    child = started;
    let exited: string | undefined;
    started.once("exit", (code, signal) => {
      exited = `exited with ${signal ?? `code ${code}`}`;
    });
    try {
      await options.awaitReady(() => exited);
    } catch (error) {
      await stopChild(null);
      throw error;
    }
  };

  const lifecycle: ServerLifecycle = {
    get running() {
      return child !== undefined;
    },
    get pid() {
      return child?.pid;
    },
    start,
    async stop(stopOptions = {}) {
      await stopChild(options.stopSignal);
      if (stopOptions.removeData) rmSync(options.dataDir, { recursive: true, force: true });
    },
    async restart() {
      await stopChild(options.stopSignal);
      await start();
    },
    kill: () => stopChild("SIGKILL"),
    async dispose() {
      disposed = true;
      // The data is thrown away, so a graceful shutdown buys nothing.
      await stopChild("SIGKILL");
      await options.afterKill?.();
      if (!options.keepDir) {
        rmSync(options.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
        untrackDir(options.dir);
      }
    },
  };

  try {
    await start();
  } catch (error) {
    // The error already carries the log tails, so the dir can go.
    await lifecycle.dispose();
    throw error;
  }
  return lifecycle;
}
