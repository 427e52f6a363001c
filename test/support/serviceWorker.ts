import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** A generated service's worker, started as its Dockerfile does (`node dist/worker.js`), output to a file. */
export interface ServiceWorker {
  readonly pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** The JSON lines it printed (in development mode, piped, every log line is one). */
  lines(): Record<string, unknown>[];
  /** SIGTERM (a redeploy's stop), resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Start `node dist/worker.js` in `dir` (built before) and wait for its `worker started` line. The output
 * goes to a file, not a pipe, so a test that blocks in spawnSync meanwhile never stalls the worker's writes.
 */
export async function startServiceWorker(
  dir: string,
  env: NodeJS.ProcessEnv,
  label: string,
  timeoutMs = 60_000,
): Promise<ServiceWorker> {
  const log = join(dir, `worker-${label}.log`);
  const fd = openSync(log, "w");
  const child: ChildProcess = spawn(process.execPath, ["dist/worker.js"], {
    cwd: dir,
    env,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const output = () => readFileSync(log, "utf8");
  const worker: ServiceWorker = {
    pid: child.pid ?? -1,
    output,
    lines: () =>
      output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (!/worker started/.test(output())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await worker.stop();
      throw new Error(`the ${label} worker in ${dir} did not start:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return worker;
}
