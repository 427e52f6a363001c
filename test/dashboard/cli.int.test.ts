import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTracker } from "../../packages/runtime/src/tracker/index.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { implementations } from "../fixtures/workers/tasks.js";
import { runCliCaptured } from "../support/cli.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "../worker/harness.js";

/**
 * `worker-toolbox send`, `task` and `tasks` against a real worker and tracker: what a person in a terminal
 * (or a script reading --json) sees, through the dashboard's queries.
 */
const contracts = fileURLToPath(new URL("../fixtures/workers/tasks.ts", import.meta.url));
let h: Harness;
let worker: Worker;
let tracker: ReturnType<typeof createTracker>;

const cli = (...args: string[]) =>
  runCliCaptured(args, {
    AMQP_URL: h.config.broker.url,
    DATABASE_URL: h.databaseUrl,
    WT_ENVIRONMENT_PREFIX: h.prefix,
  });

beforeAll(async () => {
  h = await createHarness("dashcli", testServers());
  worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
  tracker = createTracker({ config: h.config, logger: testLogger, pool: h.pool });
  await Promise.all([worker.start(), tracker.start()]);
});

afterAll(async () => {
  await worker?.close();
  await tracker?.close();
  await h?.close();
});

describe("worker-toolbox send / task / tasks", () => {
  it("send validates against the service's contracts and waits for the outcome", async () => {
    const ok = await cli("send", "wtest.add", "20", "22", "--contracts", contracts, "--wait", "20", "--json");
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      name: "wtest.add",
      status: "SUCCESS",
      result: { value: 42 },
    });

    const bad = await cli("send", "wtest.add", "twenty", "22", "--contracts", contracts);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/args/);

    const unknown = await cli("send", "wtest.nope", "--contracts", contracts);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("TASK_UNKNOWN");
  });

  it("a raw send (no contracts) publishes JSON arguments as given; a failure shows in tasks --failed", async () => {
    const sent = await cli("send", "wtest.permanent", "--wait", "20");
    const [id, status] = sent.stdout.trim().split(/\s+/);
    expect(status, sent.stderr).toBe("FAILURE");
    expect(sent.code).toBe(1);

    await expect
      .poll(
        async () => JSON.parse((await cli("tasks", "--failed", "--since", "1h", "--json")).stdout).tasks,
        {
          timeout: 10_000,
        },
      )
      .toEqual([expect.objectContaining({ taskId: id, name: "wtest.permanent", status: "FAILURE" })]);
    const text = await cli("tasks", "--failed", "--since", "1h");
    expect(text.stdout).toContain(`FAILURE  wtest.permanent  ${id}`);
  });

  it("task <id> shows arguments, the states it went through and the result", async () => {
    const sent = await cli("send", "wtest.progress", "--wait", "20");
    const id = sent.stdout.trim().split(/\s+/)[0]!;
    await expect
      .poll(
        async () =>
          JSON.parse((await cli("task", id, "--json")).stdout).states.map(
            (s: { status: string }) => s.status,
          ),
        { timeout: 10_000 },
      )
      // Toolbox workers write no STARTED row (yet); the history shows exactly what was written.
      .toEqual(expect.arrayContaining(["PROGRESS", "SUCCESS"]));
    const text = await cli("task", id);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^wtest\.progress {2}SUCCESS/);
    expect(text.stdout).toContain('{"done":1,"note":"half way","total":2}');
    expect(text.stdout).toContain('tracking  {"requestedBy":"worker-toolbox send"}');

    const missing = await cli("task", "no-such-task");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No task no-such-task");
  });

  it("tasks filters by an argument value and rejects a bad duration with exit 2", async () => {
    await cli("send", "wtest.add", "1000", "7", "--contracts", contracts, "--wait", "20");
    const found = JSON.parse((await cli("tasks", "--arg", "1000", "--json")).stdout).tasks;
    expect(found.map((task: { args: unknown }) => task.args)).toEqual([[1000, 7]]);
    const bad = await cli("tasks", "--since", "yesterday");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('since "yesterday" is not valid');
  });
});
