import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkerProcess } from "../fixtures/workers/spawnWorker.js";
import { echo, SERVICE } from "../fixtures/workers/tasks.js";
import { sample, scrape } from "../metrics/scrape.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { runCliCaptured } from "../support/cli.js";
import { pythonCelery } from "../support/pythonCelery.js";
import { testServers } from "../support/servers.js";
import { killWorkerProcesses, startWorkerProcess } from "./faults.js";
import { createHarness, type Harness } from "./harness.js";

/**
 * user-pains.md §5: a message that kills its worker (a handler calling process.exit, an out-of-memory crash)
 * must not loop forever. The quorum queue counts the deliveries and dead-letters the message past
 * queue.deliveryLimit, whatever the worker did; the task gets a final FAILURE row (WorkerLostError, as
 * Celery writes for a worker that died mid-task), so a waiter and the dashboard see it ended, and the worker
 * that wrote it counts it in tasks_failed_total (metrics: no worker lived to count the crashed runs), in its
 * `stats` (failed) and in the `inspect stats` reply's `total`. A Python Celery client reads the row as FAILURE
 * with billiard.exceptions.WorkerLostError (skipped without python3-celery). A task whose run committed its
 * SUCCESS row and then crashed the worker before the ack, every time, keeps that row: nothing is counted or
 * logged as failed for it.
 */
const DELIVERY_LIMIT = 2;
const POISON = 13;
/** The echo argument whose worker dies after its SUCCESS row is committed, before the ack. */
const LATE_CRASH = 7;
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Python reading of the delivery-limit FAILURE row", celery.reason);
let h: Harness;
/** The task that crashed its worker, once its FAILURE row is stored. */
let lost: string | undefined;

/** The `inspect stats` reply of the worker process `proc`, through the CLI (as an operator asks). */
async function inspectStats(proc: WorkerProcess): Promise<{ total: Record<string, number> }> {
  const pid = proc.events.find((e) => e.event === "ready")?.pid;
  const node = `${SERVICE}-${pid}@${hostname()}`;
  const env = {
    AMQP_URL: h.config.broker.url,
    WT_ENVIRONMENT_PREFIX: h.prefix,
    WT_MODE: "test",
    WT_LOG_LEVEL: "silent",
  };
  const cli = await runCliCaptured(["inspect", "stats", "--destination", node, "--json"], env);
  expect(cli.code, cli.stderr).toBe(0);
  return (JSON.parse(cli.stdout) as Record<string, { total: Record<string, number> }>)[node]!;
}

/** Resolves "logged" once `proc`'s log holds `text`; "exited" when the process ends first, "timeout" after `ms`. */
async function logged(
  proc: WorkerProcess,
  text: string,
  ms: number,
): Promise<"logged" | "exited" | "timeout"> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.stderr().includes(text)) return "logged";
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return "exited";
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return "timeout";
}

/** The stats a worker process printed when it stopped (runWorker.ts's `exit` line). */
function exitStats(proc: WorkerProcess): { succeeded: number; failed: number } {
  const stats = proc.events.find((e) => e.event === "exit")?.stats;
  expect(stats, "the worker's exit line").toBeDefined();
  return stats as { succeeded: number; failed: number };
}

beforeAll(async () => {
  h = await createHarness("crashloop", testServers(), {
    queue: { deliveryLimit: DELIVERY_LIMIT },
    // healthPort 0: each worker process serves /metrics on a free port (its `ready` line says which).
    worker: { concurrency: 1, prefetch: 1, healthPort: 0 },
  });
});
afterAll(async () => {
  await killWorkerProcesses();
  await h?.close();
});

describe("a task that crashes its worker process every time", () => {
  it("is dead-lettered by the broker past the delivery limit with a FAILURE row; the rest run", async () => {
    const receipts = await Promise.all(Array.from({ length: 20 }, (_, i) => h.producer.send(echo, [i])));
    const poison = receipts[POISON]!.id;
    // A supervisor (Kubernetes, systemd) restarts the worker each time it dies.
    let crashes = 0;
    for (;;) {
      const proc = startWorkerProcess(h.config, { WT_TEST_EXIT_ON_ECHO: String(POISON) });
      const ended = await Promise.race([
        proc.exited.then(({ code }) => code),
        h.waitForStatus(poison, "FAILURE", 30_000).then(() => "failed" as const),
      ]);
      if (ended === "failed") {
        // The worker that saw the FAILURE row written runs the tasks behind the poison.
        for (const { id } of receipts) if (id !== poison) await h.waitForStatus(id, "SUCCESS");
        await proc.ready;
        const port = Number(proc.events.find((e) => e.event === "ready")?.healthPort);
        const failed = sample(await scrape(port), "worker_toolbox_tasks_failed_total", {
          service: SERVICE,
          task: echo.name,
        });
        expect(failed, "the FAILURE row the dead-letter watch wrote is counted").toBe(1);
        const { total } = await inspectStats(proc);
        proc.child.kill("SIGTERM");
        expect((await proc.exited).code).toBe(0);
        const stats = exitStats(proc);
        expect(stats.failed, "worker.stats counts it as the metric does").toBe(1);
        expect(total[echo.name], "inspect stats: the tasks it ran and the one it recorded").toBe(
          stats.succeeded + 1,
        );
        break;
      }
      expect(ended).toBe(70);
      crashes += 1;
      expect(crashes, "crashes before the broker dead-lettered the task").toBeLessThanOrEqual(
        DELIVERY_LIMIT + 1,
      );
    }
    expect(crashes).toBe(DELIVERY_LIMIT + 1);
    const row = await h.row(poison);
    expect(row?.status).toBe("FAILURE");
    expect(row?.error?.type).toBe("WorkerLostError");
    const letters = await h.takeDeadLetters();
    expect(letters.map((l) => l.properties.headers?.id)).toEqual([poison]);
    expect(letters[0]!.properties.headers?.["x-first-death-reason"]).toBe("delivery_limit");
    const others = await h.rows(receipts.filter((r) => r.id !== poison).map((r) => r.id));
    expect(others.map((r) => r.status)).toEqual(Array(19).fill("SUCCESS"));
    expect((await h.depths()).queue).toBe(0);
    lost = poison;
  }, 120_000);

  it("keeps the SUCCESS row a run committed before its worker died, each time; counts and logs no failure", async () => {
    const { id } = await h.producer.send(echo, [LATE_CRASH]);
    let crashes = 0;
    for (;;) {
      const proc = startWorkerProcess(h.config, { WT_TEST_EXIT_AFTER_ROW_ON_ECHO: String(LATE_CRASH) });
      // The dead-letter watch's line (warn or error) says it handled the dead letter.
      const ended = await Promise.race([
        proc.exited.then(({ code }) => code),
        logged(proc, "dead-lettered at the delivery limit", 30_000),
      ]);
      if (ended === "logged") {
        await proc.ready;
        expect((await h.row(id))?.status, "the row the run committed stays").toBe("SUCCESS");
        expect(proc.stderr()).toContain("its final state was already recorded and is kept");
        expect(proc.stderr()).not.toContain("recorded FAILURE");
        const port = Number(proc.events.find((e) => e.event === "ready")?.healthPort);
        const failed = sample(await scrape(port), "worker_toolbox_tasks_failed_total", {
          service: SERVICE,
          task: echo.name,
        });
        expect(failed ?? 0, "no failure counted for a task whose SUCCESS stands").toBe(0);
        expect((await inspectStats(proc)).total[echo.name]).toBeUndefined();
        proc.child.kill("SIGTERM");
        expect((await proc.exited).code).toBe(0);
        expect(exitStats(proc).failed).toBe(0);
        break;
      }
      const code = ended === "exited" ? (await proc.exited).code : ended;
      expect(code, proc.stderr()).toBe(70);
      crashes += 1;
      expect(crashes, "crashes before the broker dead-lettered the task").toBeLessThanOrEqual(
        DELIVERY_LIMIT + 1,
      );
    }
    expect(crashes).toBe(DELIVERY_LIMIT + 1);
    expect((await h.row(id))?.result_json).toBe(LATE_CRASH);
    const letters = await h.takeDeadLetters();
    expect(letters.map((l) => l.properties.headers?.id)).toEqual([id]);
    expect(letters[0]!.properties.headers?.["x-first-death-reason"]).toBe("delivery_limit");
  }, 120_000);

  // A Python Celery client reads that row as it reads one Celery wrote for a lost worker process.
  it.skipIf(!celery.found)(
    "reads as FAILURE with a billiard WorkerLostError from Python Celery",
    async () => {
      expect(lost, "the crash loop above stored its row").toBeDefined();
      const py = await pythonCelery({
        prefix: h.prefix,
        services: [SERVICE],
        amqpUrl: testServers().amqpUrl,
        databaseUrl: h.databaseUrl,
      });
      try {
        const run = await py.run(
          `import json
from billiard.exceptions import WorkerLostError
from interop_tasks import app
r = app.AsyncResult(${JSON.stringify(lost)})
try:
    r.get(timeout=10)
    raised = None
except WorkerLostError as error:
    raised = "WorkerLostError"
except Exception as error:
    raised = type(error).__module__ + "." + type(error).__name__
print("RESULT " + json.dumps({"state": r.state, "lost": isinstance(r.result, WorkerLostError),
    "message": str(r.result), "raised": raised, "failed": r.failed()}))
`,
          {},
          60_000,
        );
        const line = run.out.split("\n").find((l) => l.startsWith("RESULT "));
        if (!line) throw new Error(`the Python client failed:\n${run.out}`);
        expect(JSON.parse(line.slice(7))).toEqual({
          state: "FAILURE",
          lost: true,
          message: expect.stringContaining("delivery limit"),
          raised: "WorkerLostError",
          failed: true,
        });
      } finally {
        await py.close();
      }
    },
    90_000,
  );
});
