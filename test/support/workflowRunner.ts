import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { run } from "./releaseCheckout.js";

/**
 * Runs a GitHub Actions workflow's job the way its runner would, step by step in order, on this machine:
 * `run:` steps in bash (`-e -o pipefail`, GitHub's default shell) with the job's and the step's `env:`,
 * stopping at the first failure. Only what a generated service's workflow uses is understood; anything else
 * is refused rather than skipped, so a template change the runner cannot honour fails the test:
 * - `actions/checkout`: the service directory is the checkout;
 * - `actions/setup-node`: the Node on this machine must have the major version asked for;
 * - `services:` containers: there is no container engine here, so each one must be provided by the caller,
 *   as the job env values that point at it (throwaway RabbitMQ and PostgreSQL from the test setup).
 */

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Job {
  services?: Record<string, unknown>;
  env?: Record<string, string>;
  steps: Step[];
}

export interface StepRun {
  name: string;
  code: number | null;
  seconds: number;
  output: string;
}

export interface WorkflowOptions {
  cwd: string;
  /** For every service container of the job: the job env variables that reach it, with our servers' values. */
  services: Record<string, Record<string, string>>;
  env?: NodeJS.ProcessEnv;
}

function action(step: Step): string {
  return step.uses!.split("@")[0]!;
}

function runAction(step: Step): StepRun {
  const name = step.name ?? step.uses!;
  if (action(step) === "actions/checkout")
    return { name, code: 0, seconds: 0, output: "checkout: the service dir" };
  if (action(step) === "actions/setup-node") {
    const wanted = String(step.with?.["node-version"] ?? "");
    const have = process.versions.node.split(".")[0];
    const ok = wanted.split(".")[0] === have;
    return {
      name,
      code: ok ? 0 : 1,
      seconds: 0,
      output: `setup-node: wants ${wanted}, this machine has ${process.version}`,
    };
  }
  throw new Error(
    `workflow step uses ${step.uses}, which this runner does not know: teach it or change the template`,
  );
}

/** Run one job of a workflow file; returns every step that ran (the last one failed when `ok` is false). */
export function runWorkflowJob(
  file: string,
  jobName: string,
  options: WorkflowOptions,
): { ok: boolean; steps: StepRun[] } {
  const workflow = parse(readFileSync(file, "utf8")) as { jobs: Record<string, Job> };
  const job = workflow.jobs[jobName];
  if (!job) throw new Error(`${file} has no job ${jobName}`);
  const jobEnv: Record<string, string> = { ...job.env };
  for (const service of Object.keys(job.services ?? {})) {
    const provided = options.services[service];
    if (!provided) throw new Error(`job ${jobName} needs the service container "${service}": provide it`);
    for (const [name, value] of Object.entries(provided)) {
      if (!(name in jobEnv)) throw new Error(`job ${jobName} has no env ${name} for service ${service}`);
      jobEnv[name] = value;
    }
  }
  const steps: StepRun[] = [];
  for (const step of job.steps) {
    if (step.uses) steps.push(runAction(step));
    else if (step.run) {
      const env = { ...options.env, ...jobEnv, ...step.env };
      const ran = run("bash", ["-e", "-o", "pipefail", "-c", step.run], options.cwd, env, {
        timeoutMs: 600_000,
      });
      steps.push({ name: step.name ?? step.run, code: ran.code, seconds: ran.seconds, output: ran.output });
    } else throw new Error(`a step of job ${jobName} has neither uses nor run: ${JSON.stringify(step)}`);
    if (steps.at(-1)!.code !== 0) return { ok: false, steps };
  }
  return { ok: true, steps };
}
