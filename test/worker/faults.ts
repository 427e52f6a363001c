import type { ToolboxConfig } from "@worker-toolbox/config";
import { afterAll, beforeAll, expect } from "vitest";
import { spawnWorker, type WorkerProcess } from "../fixtures/workers/spawnWorker.js";
import { echo } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, type Servers } from "./harness.js";

/** Worker settings of the fault-injection runs: enough prefetch that kills hit many unacked messages. */
export const FAULT_WORKER = { prefetch: 200, concurrency: 32, resultBatchSize: 100, resultBatchWaitMs: 2 };

const children = new Set<WorkerProcess>();

export function startWorkerProcess(config: ToolboxConfig, env: Record<string, string> = {}): WorkerProcess {
  const proc = spawnWorker(config, env);
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

/** Kill every worker process a test left running. */
export async function killWorkerProcesses(): Promise<void> {
  for (const proc of children) proc.child.kill("SIGKILL");
  await Promise.all([...children].map((proc) => proc.exited));
}

/** Send `count` echo tasks (confirmed), `parallel` at a time. */
export async function sendEchoes(h: Harness, count: number, parallel = 500): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, i) =>
      h.producer.send(echo, [start + i]),
    );
    for (const receipt of await Promise.all(batch)) ids.push(receipt.id);
  }
  return ids;
}

/** SUCCESS rows so far; undefined while the database is unreachable. */
export async function successCount(h: Harness): Promise<number | undefined> {
  try {
    const { rows } = await h.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM celery_taskmeta WHERE status = 'SUCCESS'",
    );
    return Number(rows[0]?.n);
  } catch {
    return undefined;
  }
}

export async function waitForSuccesses(h: Harness, atLeast: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let last: number | undefined;
  while (Date.now() < until) {
    last = (await successCount(h)) ?? last;
    if (last !== undefined && last >= atLeast) return last;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`only ${last} of ${atLeast} tasks succeeded within ${timeoutMs} ms`);
}

/** Every sent task has exactly one row, it is SUCCESS with the right result, and nothing is left anywhere. */
export async function expectEveryTaskSucceededOnce(h: Harness, ids: readonly string[]): Promise<void> {
  const { rows } = await h.pool.query<{ task_id: string; status: string; result_json: number; args: Buffer }>(
    "SELECT task_id, status, result_json FROM celery_taskmeta",
  );
  const byId = new Map<string, { status: string }>();
  for (const row of rows) {
    expect(byId.has(row.task_id), `duplicate row for ${row.task_id}`).toBe(false);
    byId.set(row.task_id, row);
  }
  const missing = ids.filter((id) => !byId.has(id));
  expect(missing, "tasks without a result row").toEqual([]);
  const notSuccess = rows.filter((row) => row.status !== "SUCCESS");
  expect(notSuccess, "rows that are not SUCCESS").toEqual([]);
  expect(rows).toHaveLength(ids.length);
  expect(await h.depths()).toEqual({ queue: 0, dead: 0 });
}

/**
 * A FAULT_WORKER harness on the shared test servers for a fault file whose kills hit only worker processes:
 * set up before the file's tests, torn down after its worker processes.
 */
export function withFaultHarness(name: string): { readonly h: Harness } {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await createHarness(name, testServers(), { worker: FAULT_WORKER });
  });
  afterAll(async () => {
    await killWorkerProcesses();
    await h?.close();
  });
  return {
    get h() {
      return h!;
    },
  };
}

/**
 * A fault file's own server, which its test may stop, kill and restart (doing that to the shared one would
 * break every other file running meanwhile), and a FAULT_WORKER harness whose `servers` it replaces. Set
 * up before the file's tests; torn down after its worker processes.
 */
export function withOwnServer<S extends { dispose(): Promise<void> }>(
  name: string,
  start: () => Promise<S>,
  servers: (own: S) => Partial<Servers>,
): { readonly server: S; readonly h: Harness } {
  let server: S | undefined;
  let h: Harness | undefined;
  beforeAll(async () => {
    server = await start();
    h = await createHarness(name, { ...testServers(), ...servers(server) }, { worker: FAULT_WORKER });
  }, 180_000);
  afterAll(async () => {
    await killWorkerProcesses();
    // With its own server gone or broken the harness may fail to close cleanly; the server goes anyway.
    await h?.close().catch(() => undefined);
    await server?.dispose();
  }, 120_000);
  return {
    get server() {
      return server!;
    },
    get h() {
      return h!;
    },
  };
}

/** Send `count` echoes, start a worker process, and return at a random point 20–50% into the run. */
export async function startFaultRun(
  h: Harness,
  count: number,
): Promise<{ ids: string[]; proc: WorkerProcess }> {
  const ids = await sendEchoes(h, count);
  const proc = startWorkerProcess(h.config);
  await proc.ready;
  await waitForSuccesses(h, Math.floor(count * (0.2 + Math.random() * 0.3)), 120_000);
  return { ids, proc };
}

/** Wait for every task, stop the worker (it must exit 0), and check each task has exactly one SUCCESS row. */
export async function finishFaultRun(h: Harness, run: { ids: string[]; proc: WorkerProcess }): Promise<void> {
  await waitForSuccesses(h, run.ids.length, 180_000);
  run.proc.child.kill("SIGTERM");
  expect((await run.proc.exited).code).toBe(0);
  await expectEveryTaskSucceededOnce(h, run.ids);
}
