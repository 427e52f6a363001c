import amqp, { type ChannelModel } from "amqplib";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayDeadLetters } from "../../packages/runtime/src/ops/index.js";
import { createTracker, type Tracker } from "../../packages/runtime/src/tracker/index.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { implementations, permanent, SERVICE } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness } from "../worker/harness.js";
import { cli, harnessEnv } from "./support.js";

/**
 * A task replayed long after it was scheduled — from the dashboard, which does not wait for the replay's
 * outcome as `dlq replay --wait` does — is judged by `audit` against its replay, not its original schedule:
 * in flight while its replay waits within the grace, overdue only once the grace has passed since the
 * replay (docs/operations.md, a task's deadline).
 */
const GRACE_S = 3;
const silent = pino({ level: "silent" });
let h: Harness;
let tracker: Tracker;
let worker: Worker | undefined;
let connection: ChannelModel;
let env: Record<string, string | undefined>;

interface Report {
  ok: boolean;
  totals: Record<string, number>;
  unaccounted: { kind: string; task: string | null; oldestIds: string[] }[];
}

const audit = async () => {
  const result = await cli(["audit", "--since", "1h", "--grace", `${GRACE_S}s`, "--json"], env);
  return { code: result.code, report: JSON.parse(result.stdout) as Report };
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  const servers = testServers();
  h = await createHarness("audit-replay", servers);
  tracker = createTracker({ config: h.config, logger: silent });
  worker = createWorker({ config: h.config, tasks: implementations, logger: silent });
  await Promise.all([tracker.start(), worker.start()]);
  connection = await amqp.connect(servers.amqpUrl);
  env = harnessEnv(h);
});

afterAll(async () => {
  await connection?.close().catch(() => undefined);
  await worker?.close({ graceMs: 500 });
  await tracker?.close();
  await h?.close();
});

describe("audit after a replay (the dashboard's: no waiting for the outcome)", () => {
  it("a task replayed past its grace is in flight until the grace passes again, counted from the replay", async () => {
    const { id } = await h.producer.send(permanent, []);
    await h.waitForStatus(id, "FAILURE");
    await expect.poll(async () => (await h.depths()).dead, { timeout: 10_000 }).toBe(1);
    // No worker: the replay waits in the queue, as one does behind a backlog.
    await worker?.close({ graceMs: 500 });
    worker = undefined;
    await pause(GRACE_S * 1_000 + 500);
    expect((await audit()).report).toMatchObject({
      ok: true,
      totals: expect.objectContaining({ failed: 1 }),
    });

    // What the dashboard's Replay does: replayDeadLetters with the result database, and no wait.
    const replay = await replayDeadLetters(
      connection,
      { prefix: h.prefix, service: SERVICE },
      {
        selection: { ids: [id] },
        logger: silent,
        publishTimeoutMs: 5_000,
        results: { pool: h.pool, schema: h.config.database.schema },
      },
    );
    expect(replay.replayed).toBe(1);
    expect((await h.row(id))?.status).toBe("PENDING");
    const fresh = await audit();
    expect(fresh.report.unaccounted).toEqual([]);
    expect(fresh.report).toMatchObject({ ok: true, totals: expect.objectContaining({ inFlight: 1 }) });
    expect(fresh.code).toBe(0);

    // Past the grace since the replay, with the replay still waiting: overdue (the check can fail).
    await pause(GRACE_S * 1_000 + 500);
    const late = await audit();
    expect(late.code).toBe(1);
    expect(late.report.unaccounted).toEqual([
      expect.objectContaining({ kind: "overdue", task: permanent.name, oldestIds: [id] }),
    ]);
  });
});
