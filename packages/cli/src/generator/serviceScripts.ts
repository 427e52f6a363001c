import { spawn } from "node:child_process";

/** How one npm step of a service went. */
export interface StepResult {
  command: string;
  /** Exit code; null when the process could not start or was killed. */
  code: number | null;
  seconds: number;
  /** The last lines of its output (all of it is printed only when asked). */
  tail: string;
}

export interface ServiceSteps {
  install?: StepResult;
  test?: StepResult;
  /** Why steps were not run (e.g. unresolved conflicts). */
  skipped?: string;
}

const TAIL_LINES = 40;

/** Run one command in a service directory, collecting its output; never rejects. */
export function runStep(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<StepResult> {
  const started = Date.now();
  const line = [command, ...args].join(" ");
  return new Promise((resolve) => {
    let output = "";
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const collect = (chunk: Buffer) => {
      // Keep memory bounded: only the tail is reported.
      output = (output + chunk.toString()).slice(-64 * 1024);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const finish = (code: number | null, extra = "") => {
      const tail = `${output}${extra}`.trimEnd().split("\n").slice(-TAIL_LINES).join("\n");
      resolve({ command: line, code, seconds: Math.round((Date.now() - started) / 100) / 10, tail });
    };
    child.on("error", (error) => finish(null, `\n${error.message}`));
    child.on("close", (code) => finish(code));
  });
}

/**
 * `npm install` (the upgrade changed package.json: the lockfile follows) and then `npm test`, as asked.
 * The test step runs only after a successful install.
 */
export async function installAndTest(
  dir: string,
  options: { install: boolean; test: boolean; env: NodeJS.ProcessEnv },
  progress: (message: string) => void,
): Promise<ServiceSteps> {
  const steps: ServiceSteps = {};
  if (options.install) {
    progress("npm install");
    steps.install = await runStep("npm", ["install", "--no-audit", "--no-fund"], dir, options.env);
    if (steps.install.code !== 0) return steps;
  }
  if (options.test) {
    progress("npm test");
    steps.test = await runStep("npm", ["test"], dir, options.env);
  }
  return steps;
}

/** True when every step that ran passed. */
export function stepsPassed(steps: ServiceSteps | undefined): boolean {
  if (!steps) return true;
  if (steps.skipped) return false;
  return [steps.install, steps.test].every((step) => step === undefined || step.code === 0);
}
