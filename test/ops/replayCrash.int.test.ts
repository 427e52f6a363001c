import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { defineTask, parseConfig } from "@worker-toolbox/config";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createWorker, implementTask, type Worker } from "../../packages/runtime/src/worker/index.js";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";
import { cli, eventually, publishDeadLetters, readyCount } from "./support.js";
import { opsWorld } from "./world.js";

/**
 * The replay promise: copy, wait for the broker's confirm, only then remove. A replaying process killed
 * with SIGKILL halfway through 1,000 dead letters loses none of them; the duplicates it may leave (copied
 * and confirmed, not yet acknowledged) are absorbed by the worker's idempotent result writes.
 */
const { amqpUrl } = testServers();
const world = opsWorld("ops-replay-kill", { database: "migrated", apply: ["export"] });
const { prefix, env } = world;
const COUNT = 1_000;
const root = fileURLToPath(new URL("../../", import.meta.url));
const job = defineTask({ name: "export.job", args: z.tuple([z.number().int()]), result: z.number().int() });
let ids: string[];
let worker: Worker | undefined;

beforeAll(async () => {
  ids = await publishDeadLetters(world.channel, prefix, "export", "export.job", COUNT);
});

afterAll(async () => {
  await worker?.close({ graceMs: 1_000 });
});

/** Task ids in a queue, read with get and handed back by closing the channel. */
async function idsIn(queue: string): Promise<string[]> {
  const peek = await world.connection.createChannel();
  const found: string[] = [];
  for (;;) {
    const message = await peek.get(queue, { noAck: false });
    if (!message) break;
    found.push(String(message.properties.headers?.id));
  }
  await peek.close();
  return found;
}

function startReplay(): ChildProcess {
  const tsx = import.meta.resolve("tsx");
  return spawn(
    process.execPath,
    [
      "--import",
      tsx,
      "--conditions=@worker-toolbox/source",
      "packages/cli/src/main.ts",
      "dlq",
      "replay",
      "export",
      "--all",
      "--rate",
      "250",
      "--json",
    ],
    { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
}

describe("dlq replay killed halfway", () => {
  it("loses no dead letter, and the worker stores exactly one SUCCESS row per task id", async () => {
    const dead = `${prefix}.export.dead`;
    const queue = `${prefix}.export`;
    const child = startReplay();
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => resolve(signal)),
    );
    await eventually(
      async () => ((await readyCount(world.channel, queue)) >= COUNT / 2 ? true : undefined),
      60_000,
      `half the replay (stderr: ${stderr})`,
    );
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    // Unacknowledged dead letters return when the broker notices the dead connection.
    const inQueue = await eventually(
      async () => {
        const [replayed, stillDead] = [await idsIn(queue), await idsIn(dead)];
        return replayed.length + stillDead.length >= COUNT && stillDead.length > 0
          ? { replayed, stillDead }
          : undefined;
      },
      20_000,
      "the unacknowledged dead letters to return",
    );
    const union = new Set([...inQueue.replayed, ...inQueue.stillDead]);
    expect([...union].sort()).toEqual([...ids].sort());
    expect(inQueue.replayed.length).toBeGreaterThanOrEqual(COUNT / 2);
    const duplicates = inQueue.replayed.filter((id) => inQueue.stillDead.includes(id));
    // At most the publishes that were confirmed but not yet acknowledged when the process died.
    expect(duplicates.length).toBeLessThanOrEqual(100);

    // Finish the replay, then let a worker run everything, duplicates included.
    const rest = await cli(["dlq", "replay", "export", "--all", "--json"], env);
    expect(JSON.parse(rest.stdout)).toMatchObject({ replayed: inQueue.stillDead.length, failed: [] });
    expect(await readyCount(world.channel, dead)).toBe(0);

    let runs = 0;
    worker = createWorker({
      config: parseConfig({
        mode: "test",
        service: "export",
        environment: { prefix },
        broker: { url: amqpUrl },
        database: { url: world.db.url },
        queue: { delayRungsMs: [1000] },
        logLevel: "silent",
      }),
      tasks: [
        implementTask(job, ({ args: [n] }) => {
          runs++;
          return n;
        }),
      ],
      logger: pino({ level: "silent" }),
    });
    await worker.start();
    const pool = testPool({ connectionString: world.db.url, max: 1 });
    try {
      const rows = await eventually(
        async () => {
          const { rows } = await pool.query<{ task_id: string; status: string }>(
            "SELECT task_id, status FROM celery_taskmeta WHERE status = 'SUCCESS'",
          );
          return rows.length >= COUNT && (await readyCount(world.channel, queue)) === 0 ? rows : undefined;
        },
        60_000,
        "every replayed task to succeed",
      );
      expect(rows.map((row) => row.task_id).sort()).toEqual([...ids].sort());
      const { rows: all } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM celery_taskmeta");
      expect(Number(all[0]?.n)).toBe(COUNT);
      expect(runs).toBe(COUNT + duplicates.length);
    } finally {
      await pool.end();
    }
  }, 180_000);
});
