/**
 * The orchestrator's side of the Celery system in bench/e2e.ts: the settings module `worker-toolbox
 * celery-config` prints for the run's prefix and database (as bench/celery.ts), in a temporary directory
 * both Celery processes import it from.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { entityNames, type ToolboxConfigInput } from "@worker-toolbox/config";
import { celeryConfigOutput } from "../../test/support/celeryPython.js";

/** Prefork children: one per core. */
const CHILDREN = 2;
const SETTINGS = "wt_celery_bench_settings";
const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));

export interface CeleryRun {
  /** What bench/e2e/celery.mjs reads from BENCH_E2E.celery. */
  forWorker: { python: string; settingsDir: string; queue: string; concurrency: number };
  cleanup(): void;
}

export async function prepareCelery(
  python: string,
  config: ToolboxConfigInput,
  prefetch: number,
): Promise<CeleryRun> {
  const prefix = config.environment?.prefix as string;
  const dir = mkdtempSync(join(tmpdir(), "wt-bench-e2e-celery-"));
  const settings = await celeryConfigOutput({
    prefix,
    service: config.service as string,
    amqpUrl: config.broker?.url as string,
    databaseUrl: config.database?.url as string,
    // The toolbox's prefetch per process spread over the pool's children (worker_prefetch_multiplier).
    env: { WT_WORKER_PREFETCH: String(prefetch), WT_WORKER_CONCURRENCY: String(CHILDREN) },
  });
  writeFileSync(join(dir, `${SETTINGS}.py`), settings);
  return {
    forWorker: {
      python,
      settingsDir: dir,
      queue: entityNames(prefix).serviceQueue(config.service as string),
      concurrency: CHILDREN,
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The environment of the Python producer: the same settings module, and bench/ for the task module. */
export function celeryProducerEnv(run: CeleryRun): Record<string, string> {
  return {
    BENCH_E2E_PYTHON: run.forWorker.python,
    PYTHONPATH: [run.forWorker.settingsDir, BENCH_DIR].join(":"),
    WT_CELERY_SETTINGS: SETTINGS,
    PYTHONDONTWRITEBYTECODE: "1",
  };
}
