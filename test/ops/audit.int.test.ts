import { entityNames } from "@worker-toolbox/config";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTracker, type Tracker } from "../../packages/runtime/src/tracker/index.js";
import { echo, SERVICE, sleep } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { killWorkerProcesses, startWorkerProcess, waitForSuccesses } from "../worker/faults.js";
import { createHarness, type Harness } from "../worker/harness.js";
import { cli, eventually, harnessEnv } from "./support.js";

/**
 * `worker-toolbox audit` against what really happened: tasks sent through the producer, tracked by the real
 * tracker, run (or not) by a real worker process that is killed with SIGKILL, and a queue emptied behind
 * everyone's back. The audit must name exactly the tasks that are gone, and nothing on a clean run.
 */
interface Report {
  ok: boolean;
  totals: Record<string, number>;
  unaccounted: {
    kind: string;
    task: string | null;
    count: number;
    oldestIds: string[];
    states: Record<string, number>;
  }[];
  queues: { queue: string; ready: number }[];
}

let h: Harness;
let tracker: Tracker;
let env: Record<string, string | undefined>;

const audit = async (...args: string[]) => {
  const result = await cli(["audit", "--since", "1h", "--grace", "0s", "--ids", "1000", ...args], env);
  return { ...result, report: args.includes("--json") ? (JSON.parse(result.stdout) as Report) : undefined };
};

const trackedCount = async () =>
  Number((await h.pool.query("SELECT count(*) AS n FROM worker_toolbox_tasks")).rows[0].n);

const finalIds = async () =>
  new Set(
    (
      await h.pool.query<{ task_id: string }>(
        "SELECT task_id FROM celery_taskmeta WHERE status IN ('SUCCESS', 'FAILURE', 'REVOKED')",
      )
    ).rows.map((row) => row.task_id),
  );

beforeAll(async () => {
  h = await createHarness("ops-audit", testServers(), { worker: { prefetch: 4, concurrency: 2 } });
  tracker = createTracker({ config: h.config, logger: pino({ level: "silent" }) });
  await tracker.start();
  env = harnessEnv(h);
});

afterAll(async () => {
  await killWorkerProcesses();
  await tracker?.close();
  await h?.close();
});

describe("worker-toolbox audit", () => {
  it("accounts for every task of a clean run and exits 0", async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => h.producer.send(echo, [i])));
    const worker = startWorkerProcess(h.config);
    await worker.ready;
    await waitForSuccesses(h, 20, 30_000);
    await eventually(
      async () => ((await trackedCount()) === 20 ? true : undefined),
      20_000,
      "20 tracking rows",
    );
    worker.child.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);

    const { code, report } = await audit("--json");
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, unaccounted: [] });
    expect(report?.totals).toMatchObject({ scheduled: 20, succeeded: 20, overdue: 0, lost: 0, untracked: 0 });
    expect(ids).toHaveLength(20);

    const text = await audit();
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^wtest\.echo +20 +20 +0 +0 +0 +0 +0 +0 +0$/m);
    expect(text.stdout).toContain("Every task in the window is accounted for.");
  });

  it("after a SIGKILLed worker and a purged queue, reports exactly the tasks that were lost", async () => {
    const names = entityNames(h.prefix);
    const sent = await Promise.all(Array.from({ length: 30 }, () => h.producer.send(sleep, [150])));
    const worker = startWorkerProcess(h.config);
    await worker.ready;
    await waitForSuccesses(h, 20 + 6, 30_000); // 20 echoes from the clean run, then a few sleeps
    worker.child.kill("SIGKILL");
    expect((await worker.exited).signal).toBe("SIGKILL");

    // The killed worker's unacknowledged messages return to the queue; then someone empties it.
    const channel = await h.channel();
    await eventually(
      async () =>
        (await channel.checkQueue(names.serviceQueue(SERVICE))).consumerCount === 0 ? true : undefined,
      10_000,
      "the killed worker's consumer to go",
    );
    const purged: string[] = [];
    for (;;) {
      const message = await channel.get(names.serviceQueue(SERVICE), { noAck: true });
      if (!message) break;
      purged.push(String(message.properties.headers?.id));
    }
    const finished = await finalIds();
    // A task whose row was stored just before the kill, but not yet acknowledged, came back and was purged
    // too: it is finished, not lost.
    const lost = purged.filter((id) => !finished.has(id)).sort();
    expect(lost.length).toBeGreaterThan(0);
    expect(
      sent
        .filter((receipt) => !finished.has(receipt.id))
        .map((r) => r.id)
        .sort(),
    ).toEqual(lost);

    // A task published around the exchange, straight into the queue: it runs, but the platform never saw it.
    const around = newTaskMessage({ task: echo.name, args: [99] });
    const { content, properties } = encodeTaskMessage(around);
    channel.publish("", names.serviceQueue(SERVICE), content, properties);
    await channel.waitForConfirms();
    const again = startWorkerProcess(h.config);
    await again.ready;
    await h.waitForStatus(around.id, "SUCCESS");
    again.child.kill("SIGTERM");
    await again.exited;
    await eventually(
      async () => ((await trackedCount()) === 50 ? true : undefined),
      20_000,
      "50 tracking rows",
    );

    const { code, report } = await audit("--json");
    expect(code).toBe(1);
    expect(report?.ok).toBe(false);
    const byKind = (r: Report | undefined, kind: string) =>
      r?.unaccounted.filter((g) => g.kind === kind) ?? [];
    expect(byKind(report, "lost")).toEqual([
      expect.objectContaining({ task: sleep.name, count: lost.length, states: { none: lost.length } }),
    ]);
    expect([...byKind(report, "lost")[0]!.oldestIds].sort()).toEqual(lost);
    expect(byKind(report, "overdue")).toEqual([]);
    expect(byKind(report, "untracked")).toEqual([
      expect.objectContaining({ task: echo.name, count: 1, oldestIds: [around.id], states: { SUCCESS: 1 } }),
    ]);
    expect(report?.totals).toMatchObject({ scheduled: 50, lost: lost.length, overdue: 0, untracked: 1 });

    const text = await audit();
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`^lost +wtest\\.sleep +${lost.length} `, "m"));
    expect(text.stdout).toContain("nothing of wtest waits in a queue or a delay rung");

    // The monitor raises the same finding as an alarm (exit 1 with --once).
    const monitor = await cli(["monitor", "--once", "--json", "--audit", "--service", SERVICE], {
      ...env,
      WT_MONITOR_AUDIT_GRACE_MS: "0",
      WT_MONITOR_THRESHOLDS_MIN_CONSUMERS: "0",
    });
    expect(monitor.code).toBe(1);
    const tick = JSON.parse(monitor.stdout.trim());
    expect(tick.alarms).toEqual([
      expect.objectContaining({
        key: `unaccounted-tasks:${SERVICE}`,
        kind: "unaccounted-tasks",
        value: lost.length + 1,
        message: expect.stringContaining(`${lost.length} lost, 1 untracked`),
      }),
    ]);
    expect(tick.audit.totals).toMatchObject({ lost: lost.length, untracked: 1 });

    // Three more with no worker running: they wait in the queue past their deadline. Now nobody can tell
    // which of wtest's overdue tasks are among the waiting messages, so none is called lost.
    const queued = await Promise.all(Array.from({ length: 3 }, (_, i) => h.producer.send(echo, [i])));
    await eventually(
      async () => ((await trackedCount()) === 53 ? true : undefined),
      20_000,
      "53 tracking rows",
    );
    const later = await audit("--json");
    expect(later.code).toBe(1);
    expect(byKind(later.report, "lost")).toEqual([]);
    const overdue = byKind(later.report, "overdue");
    expect(overdue.map((g) => [g.task, g.count])).toEqual([
      [echo.name, 3],
      [sleep.name, lost.length],
    ]);
    expect([...overdue[0]!.oldestIds].sort()).toEqual(queued.map((r) => r.id).sort());
    const laterText = await audit();
    expect(laterText.stdout).toContain(`3 ready and 0 unacknowledged in ${names.serviceQueue(SERVICE)}`);
  });
});
