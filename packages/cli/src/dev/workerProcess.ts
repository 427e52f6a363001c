import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";

export interface WorkerProcessOptions {
  /** The service directory (its package.json, node_modules and entry). */
  dir: string;
  /** The worker's entry point, relative to `dir`: default src/worker.ts. */
  entry: string;
  /** Restart on every change of a file the worker imports (tsx watch). */
  watch: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * Run the service's worker with its own tsx (a dev dependency of every generated service): `tsx watch`
 * restarts it whenever a file it imports changes, and relays the signals `dev` passes on to it, so the
 * worker shuts down as in production (running tasks finish, the rest go back to the queue). Output goes
 * straight to this terminal.
 */
export function startWorkerProcess(options: WorkerProcessOptions): ChildProcess {
  const entry = join(options.dir, options.entry);
  if (!existsSync(entry)) {
    throw new ToolboxError(
      "CONFIG_INVALID",
      `worker-toolbox dev: the worker entry ${entry} does not exist.`,
      {
        hint: "run it in the service's directory (or pass --dir), or name the entry with --entry",
      },
    );
  }
  const args = options.watch ? ["watch", "--clear-screen=false", options.entry] : [options.entry];
  // Its own process group: Ctrl+C reaches `dev` only, which passes it on once. In the terminal's group the
  // worker would get it twice (from the terminal, and relayed by tsx), and a second signal means "now".
  return spawn(process.execPath, [tsxCli(options.dir), ...args], {
    cwd: options.dir,
    env: options.env,
    stdio: "inherit",
    detached: true,
  });
}

function tsxCli(dir: string): string {
  try {
    return createRequire(join(dir, "package.json")).resolve("tsx/cli");
  } catch (cause) {
    throw new ToolboxError("CONFIG_INVALID", `worker-toolbox dev: tsx is not installed in ${dir}.`, {
      cause,
      hint: "install the service's dependencies (npm install); generated services list tsx as a dev dependency",
    });
  }
}
