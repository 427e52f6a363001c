import type { ConfirmChannel } from "amqplib";
import { beforeAll, describe, expect, it } from "vitest";
import { cli } from "./support.js";
import { opsWorld } from "./world.js";

/**
 * Drift the other way round: a binding, a queue and an exchange under the prefix that no plan has. A stray
 * `billing.#` binding on order-export's queue hands billing's tasks to order-export's worker; `topology
 * verify` and `doctor` must fail naming it, with the command that removes it, and that command must work.
 */
const world = opsWorld("ops-drift", { apply: ["order-export", "billing"] });
const { prefix, env } = world;
let channel: ConfirmChannel;

beforeAll(() => {
  ({ channel } = world);
});

describe("extra bindings, queues and exchanges", () => {
  it("are drift: verify and doctor fail naming each, and topology prune removes them", async () => {
    // Verifying one service does not call its neighbours extra.
    const clean = await cli(["topology", "verify", "--service", "order-export"], env);
    expect(clean.code, clean.stdout).toBe(0);

    const stray = `${prefix}.tasks -> ${prefix}.order-export [billing.#]`;
    await channel.bindQueue(`${prefix}.order-export`, `${prefix}.tasks`, "billing.#");
    await channel.assertQueue(`${prefix}.stray`, { durable: true });
    await channel.bindQueue(`${prefix}.stray`, `${prefix}.tasks`, "#");
    channel.sendToQueue(`${prefix}.stray`, Buffer.from("{}"));
    await channel.waitForConfirms();
    await channel.assertExchange(`${prefix}.legacy`, "topic", { durable: true });

    const verify = await cli(["topology", "verify", "--service", "order-export"], env);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(
      `binding ${stray} is not in the plan — messages routed with billing.# on ${prefix}.tasks also reach ` +
        `${prefix}.order-export, whose worker cannot run them; remove it: \`worker-toolbox topology prune --yes\``,
    );
    expect(verify.stdout).toContain(`queue ${prefix}.stray is not in the plan`);
    expect(verify.stdout).toContain(`exchange ${prefix}.legacy is not in the plan`);
    const asJson = JSON.parse(
      (await cli(["topology", "verify", "--service", "order-export", "--json"], env)).stdout,
    );
    expect(asJson.mismatches).toEqual(
      expect.arrayContaining([
        { entity: "binding", name: stray, problem: "extra" },
        { entity: "binding", name: `${prefix}.tasks -> ${prefix}.stray [#]`, problem: "extra" },
        { entity: "exchange", name: `${prefix}.legacy`, problem: "extra" },
        expect.objectContaining({ entity: "queue", name: `${prefix}.stray`, problem: "extra" }),
      ]),
    );
    expect(asJson.mismatches).toHaveLength(4);

    const doctor = await cli(["doctor", "--json", "--no-database", "--service", "order-export"], env);
    expect(doctor.code).toBe(1);
    const topology = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === "topology");
    expect(topology).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(`binding ${stray} not in the plan`),
    });
    expect(topology.items).toContainEqual(expect.stringContaining(`binding ${stray} is not in the plan`));
    expect(topology.hint).toContain("worker-toolbox topology prune --yes");

    expect((await cli(["topology", "prune", "--service", "order-export"], env)).code).toBe(2); // needs --yes
    const dry = await cli(["topology", "prune", "--service", "order-export", "--dry-run"], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`kept    binding ${stray}: dry run`);
    const dryJson = await cli(["topology", "prune", "--service", "order-export", "--dry-run", "--json"], env);
    expect(dryJson.code).toBe(0);
    const listed = JSON.parse(dryJson.stdout) as { prefix: string; removed: unknown[]; kept: unknown[] };
    expect(listed).toMatchObject({ prefix, removed: [] });
    expect(listed.kept).toContainEqual({
      extra: expect.objectContaining({ name: stray }),
      reason: "dry run",
    });

    // A queue that holds messages is kept unless forced: its messages would go with it.
    const pruned = await cli(["topology", "prune", "--service", "order-export", "--yes"], env);
    expect(pruned.code).toBe(1);
    expect(pruned.stdout).toContain(`removed binding ${stray}`);
    expect(pruned.stdout).toContain(`removed exchange ${prefix}.legacy`);
    expect(pruned.stdout).toContain(
      `kept    queue ${prefix}.stray: holds 1 message(s); drain it or pass --force`,
    );
    const forced = await cli(["topology", "prune", "--service", "order-export", "--yes", "--force"], env);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`removed queue ${prefix}.stray`);

    const after = await cli(["topology", "verify", "--service", "order-export"], env);
    expect(after.code, after.stdout).toBe(0);
    // The neighbour's own binding survived.
    expect((await cli(["topology", "verify", "--service", "billing"], env)).code).toBe(0);
  });
});
