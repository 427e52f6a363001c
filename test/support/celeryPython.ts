import { spawn, spawnSync } from "node:child_process";
import { runCli } from "../../packages/cli/src/cli.js";

/**
 * Finding a Python that runs real Celery (Debian's python3-celery) and configuring it only with what
 * `worker-toolbox celery-config` prints. Shared by the interop tests and bench/celery.ts, so they agree on
 * which interpreter they use and how they skip. No vitest import: the bench loads this file too.
 */

export type CeleryPythonProbe =
  | { found: true; python: string; celeryVersion: string }
  | { found: false; reason: string };

/**
 * CELERY_PYTHON (scripts/bootstrap.sh exports it) first, then Debian's interpreter (its dist-packages hold
 * python3-celery; a pyenv `python3` on PATH does not see them), then whatever `python3` is on PATH.
 */
export function celeryPythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [env.CELERY_PYTHON, "/usr/bin/python3", "python3"].filter(
    (candidate): candidate is string => Boolean(candidate),
  );
  return [...new Set(candidates)];
}

let probed: CeleryPythonProbe | undefined;

/** The first candidate that imports celery, sqlalchemy and psycopg2 (memoised per process). */
export function findCeleryPython(): CeleryPythonProbe {
  if (probed) return probed;
  const tried: string[] = [];
  for (const python of celeryPythonCandidates()) {
    const probe = spawnSync(
      python,
      ["-c", "import celery, sqlalchemy, psycopg2; print(celery.__version__)"],
      { encoding: "utf8", timeout: 30_000 },
    );
    if (probe.status === 0) {
      probed = { found: true, python, celeryVersion: probe.stdout.trim() };
      return probed;
    }
    const why = (probe.stderr || String(probe.error ?? `exit ${probe.status}`)).trim().split("\n").pop();
    tried.push(`${python}: ${why}`);
  }
  probed = {
    found: false,
    reason:
      `no python can import celery, sqlalchemy and psycopg2 (${tried.join("; ")}). Install them with ` +
      "`apt-get install python3-celery python3-sqlalchemy python3-psycopg2` or point CELERY_PYTHON at one",
  };
  return probed;
}

/** Print a skip reason so that it stands out in a test or bench log. */
export function warnCeleryMissing(what: string, reason: string): void {
  console.warn(`\n*** SKIPPING ${what}: ${reason}. ***\n`);
}

export interface CelerySettingsOptions {
  prefix: string;
  /** One service, or several (their queues are all in the settings; the first is the default). */
  service: string | string[];
  amqpUrl: string;
  databaseUrl: string;
  format?: "python" | "json";
  /** Extra WT_* variables for the config loader, e.g. WT_WORKER_PREFETCH. */
  env?: Record<string, string>;
}

/**
 * What `worker-toolbox celery-config --service <service> --show-secrets` prints for this environment: a
 * module for `app.config_from_object` (format python) or the JSON form. Runs the real CLI in-process.
 */
export async function celeryConfigOutput(options: CelerySettingsOptions): Promise<string> {
  let stdout = "";
  let stderr = "";
  const services = typeof options.service === "string" ? [options.service] : options.service;
  const args = [
    "celery-config",
    ...services.flatMap((service) => ["--service", service]),
    "--format",
    options.format ?? "python",
    "--show-secrets",
    "--env-prefix",
    options.prefix,
    "--amqp-url",
    options.amqpUrl,
    "--database-url",
    options.databaseUrl,
  ];
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: options.env ?? {},
  });
  if (code !== 0) throw new Error(`worker-toolbox ${args.slice(0, 5).join(" ")} exited ${code}: ${stderr}`);
  return stdout;
}

/**
 * Run a Python script (`-c`) with `dir` on PYTHONPATH (where the test wrote `wt_celery_settings.py`) and
 * collect its output. Resolves with the text after each `TAG ` line prefix the script printed (`tags`);
 * rejects, with the whole output, when it exits non-zero or leaves a tag out.
 */
export function runPythonScript<T extends string>(
  python: string,
  script: string,
  options: { dir: string; tags: readonly T[]; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ lines: Record<T, string>; log: string }> {
  const child = spawn(python, ["-c", script], {
    cwd: options.dir,
    env: {
      ...process.env,
      PYTHONPATH: options.dir,
      WT_CELERY_SETTINGS: "wt_celery_settings",
      PYTHONDONTWRITEBYTECODE: "1",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const collect = (chunk: Buffer) => {
    log += chunk.toString();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 100_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const lines = {} as Record<T, string>;
      for (const tag of options.tags) {
        const line = log.split("\n").find((l) => l.startsWith(`${tag} `));
        if (line !== undefined) lines[tag] = line.slice(tag.length + 1);
      }
      if (code !== 0 || options.tags.some((tag) => lines[tag] === undefined)) {
        reject(new Error(`the Python script exited ${code ?? signal}; its output:\n${log}`));
        return;
      }
      resolve({ lines, log });
    });
  });
}
