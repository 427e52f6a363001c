import { defineTask, entityNames } from "@worker-toolbox/config";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createWorker, implementTask, type Worker } from "../../packages/runtime/src/worker/index.js";
import { implementations, SERVICE } from "../fixtures/workers/tasks.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "../worker/harness.js";
import { cli, eventually, harnessEnv } from "./support.js";

/**
 * A stray binding hands another service's task to this worker. `billing.#` is bound to wtest's queue by
 * hand: verify and doctor fail naming the binding; wtest's worker dead-letters billing's task as `misrouted`
 * and writes no row, so the SUCCESS billing's worker stores is what the caller reads. wtest's worker gets the
 * copy first (billing's worker starts only after the misrouted letter is there): a FAILURE it stored would
 * have been final, and billing's SUCCESS would never have replaced it.
 */
const charge = defineTask({
  name: "billing.charge",
  args: z.tuple([z.number().int()]),
  result: z.strictObject({ charged: z.number() }),
});

let h: Harness;
let env: Record<string, string | undefined>;
const workers: Worker[] = [];

beforeAll(async () => {
  h = await createHarness("ops-misrouted", testServers());
  env = harnessEnv(h);
  const applied = await cli(["topology", "apply", "--service", SERVICE, "--service", "billing"], env);
  expect(applied.code, applied.stderr).toBe(0);
});

afterAll(async () => {
  for (const worker of workers) await worker.close();
  await h?.close();
});

describe("a stray binding", () => {
  it("is named by verify and doctor, and its misrouted task leaves the owner's SUCCESS untouched", async () => {
    const names = entityNames(h.prefix);
    const stray = `${names.exchange} -> ${names.serviceQueue(SERVICE)} [billing.#]`;
    const channel = await h.channel();
    await channel.bindQueue(names.serviceQueue(SERVICE), names.exchange, "billing.#");

    const verify = await cli(["topology", "verify", "--service", SERVICE, "--service", "billing"], env);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`binding ${stray} is not in the plan`);
    expect(verify.stdout).toContain("worker-toolbox topology prune --yes");
    const doctor = await cli(
      ["doctor", "--json", "--no-database", "--service", SERVICE, "--service", "billing"],
      env,
    );
    expect(doctor.code).toBe(1);
    const topology = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === "topology");
    expect(topology).toMatchObject({ status: "fail", detail: expect.stringContaining(`binding ${stray}`) });

    const wtest = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
    workers.push(wtest);
    await wtest.start();
    const message = newTaskMessage({ task: charge.name, args: [7] });
    const encoded = encodeTaskMessage(message);
    await h.publishRaw(charge.name, encoded.content, encoded.properties);

    // wtest's worker dead-letters its copy as misrouted, and stores nothing.
    const [letter] = await eventually(
      async () => {
        const taken = await h.takeDeadLetters();
        return taken.length > 0 ? taken : undefined;
      },
      20_000,
      "the misrouted dead letter",
    );
    expect(letter?.properties.headers).toMatchObject({
      id: message.id,
      "x-wt-reason": "misrouted",
      "x-wt-error-message": expect.stringContaining(`belongs to service billing`),
    });
    expect(await h.row(message.id)).toBeUndefined();

    // The owner runs it; its SUCCESS is the row, and no FAILURE was ever stored for it.
    const billing = createWorker({
      config: { ...h.config, service: "billing" },
      tasks: [implementTask(charge, ({ args: [amount] }) => ({ charged: amount }))],
      logger: testLogger,
    });
    workers.push(billing);
    await billing.start();
    const row = await h.waitForStatus(message.id, "SUCCESS");
    expect(row.result_json).toEqual({ charged: 7 });
    const { rows: history } = await h.pool.query(
      "SELECT status FROM worker_toolbox_task_states WHERE task_id = $1",
      [message.id],
    );
    expect(history.map((state) => state.status)).not.toContain("FAILURE");

    // Removing the binding is the fix verify named.
    expect(
      (await cli(["topology", "prune", "--service", SERVICE, "--service", "billing", "--yes"], env)).code,
    ).toBe(0);
    expect((await cli(["topology", "verify", "--service", SERVICE, "--service", "billing"], env)).code).toBe(
      0,
    );
  });
});
