import { defineTask } from "@worker-toolbox/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { encodeTaskMessage, newTaskMessage } from "../../packages/runtime/src/protocol/index.js";
import { getTask } from "../../packages/runtime/src/results/index.js";
import { createWorker, implementTask, type Worker } from "../../packages/runtime/src/worker/index.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "../worker/harness.js";
import { cli, eventually, harnessEnv } from "./support.js";

/**
 * `dlq replay` fixes results. Five tasks die with retries exhausted ("payments API: 503"); the handler is
 * fixed; the replay's runs replace the FAILURE rows, which stay in each task's history, and `--wait` says how
 * many succeeded, failed again or are still running. A late duplicate of the first run never overwrites.
 */
const charge = defineTask({
  name: "wtest.charge",
  args: z.tuple([z.number().int()]),
  result: z.strictObject({ charged: z.number(), by: z.string() }),
  retry: { maxAttempts: 2 },
});

/** The handler's behaviour, changed by the test: which orders still fail, and what a success says. */
const api = { failingFrom: 0, version: "v1", runs: 0 };

let h: Harness;
let worker: Worker;
let env: Record<string, string | undefined>;
const originals = new Map<string, ReturnType<typeof encodeTaskMessage>>();

beforeAll(async () => {
  h = await createHarness("ops-replay", testServers(), { retry: { backoffBaseMs: 100, backoffMaxMs: 200 } });
  worker = createWorker({
    config: h.config,
    tasks: [
      implementTask(charge, ({ args: [order] }) => {
        api.runs += 1;
        if (order >= api.failingFrom) throw new Error("payments API: 503");
        return { charged: order, by: api.version };
      }),
    ],
    logger: testLogger,
  });
  await worker.start();
  env = harnessEnv(h);
});

afterAll(async () => {
  await worker?.close();
  await h?.close();
});

/** The states a task left, oldest first (the history triggers keep them). */
const states = async (taskId: string) =>
  (
    await h.pool.query<{ status: string; generation: number; error: { message?: string } | null }>(
      "SELECT status, generation, error FROM worker_toolbox_task_states WHERE task_id = $1 ORDER BY id",
      [taskId],
    )
  ).rows;

const replay = async (...args: string[]) => {
  const result = await cli(
    ["dlq", "replay", "wtest", "--task", charge.name, "--wait", "--json", ...args],
    env,
  );
  return { ...result, json: JSON.parse(result.stdout) };
};

describe("dlq replay after a fix", () => {
  it("replaces the FAILURE rows with the replay's outcomes, keeps them in history, and reports outcomes", async () => {
    const ids: string[] = [];
    for (let order = 0; order < 5; order++) {
      const message = newTaskMessage({ task: charge.name, args: [order] });
      const encoded = encodeTaskMessage(message);
      originals.set(message.id, encoded);
      await h.publishRaw(charge.name, encoded.content, encoded.properties);
      ids.push(message.id);
    }
    for (const id of ids) await h.waitForStatus(id, "FAILURE");
    await eventually(
      async () => ((await h.depths()).dead === 5 ? true : undefined),
      10_000,
      "5 dead letters",
    );

    // A partial fix: orders 0-2 work now, 3 and 4 still fail.
    api.failingFrom = 3;
    const partial = await replay();
    expect(partial.code).toBe(1);
    expect(partial.json).toMatchObject({
      replayed: 5,
      outcomes: { succeeded: 3, failedAgain: 2, running: 0 },
    });
    expect([...partial.json.outcomes.failedAgainIds].sort()).toEqual(ids.slice(3).sort());

    // The full fix; the two that failed again are replayed once more.
    api.failingFrom = Number.POSITIVE_INFINITY;
    api.version = "v2";
    await eventually(
      async () => ((await h.depths()).dead === 2 ? true : undefined),
      10_000,
      "2 dead letters",
    );
    const text = await cli(["dlq", "replay", "wtest", "--task", charge.name, "--wait"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("Of 2 replayed: 2 succeeded, 0 failed again, 0 still running.");

    for (const [index, id] of ids.entries()) {
      const { result } = await getTask(h.pool, "public", id);
      expect(result).toMatchObject({
        status: "SUCCESS",
        value: { charged: index, by: index < 3 ? "v1" : "v2" },
        generation: index < 3 ? 1 : 2,
      });
      expect(result?.replayedAt).toBeInstanceOf(Date);
      // Every earlier outcome is kept in the task's history, oldest first, with its generation.
      const finals = (await states(id)).filter((state) => state.status === "FAILURE");
      expect(finals.map((state) => state.generation)).toEqual(index < 3 ? [0] : [0, 1]);
      expect(finals[0]?.error).toMatchObject({ message: "payments API: 503" });
    }
    expect((await h.depths()).dead).toBe(0);

    // A late duplicate of the first run (no generation: generation 0) runs, and changes nothing.
    api.version = "late duplicate";
    const runs = api.runs;
    const first = originals.get(ids[0]!)!;
    await h.publishRaw(charge.name, first.content, first.properties);
    await eventually(async () => (api.runs > runs ? true : undefined), 10_000, "the duplicate to run");
    await eventually(
      async () => ((await h.depths()).queue === 0 ? true : undefined),
      10_000,
      "the duplicate acked",
    );
    const after = await getTask(h.pool, "public", ids[0]!);
    expect(after.result).toMatchObject({ status: "SUCCESS", value: { charged: 0, by: "v1" }, generation: 1 });
    expect((await states(ids[0]!)).filter((state) => state.status === "FAILURE")).toHaveLength(1);
  });
});
