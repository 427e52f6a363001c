import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineTask, parseConfig } from "@worker-toolbox/config";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  type TestDatabase,
} from "@worker-toolbox/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { runCli } from "../../packages/cli/src/cli.js";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { findCeleryPython, warnCeleryMissing } from "../support/celeryPython.js";
import { testClient } from "../support/database.js";
import { type PythonCelery, type PythonWorker, pythonCelery } from "../support/pythonCelery.js";
import { testServers } from "../support/servers.js";

/**
 * A task sent by the TypeScript producer is executed by a real Python Celery worker (Debian's
 * python3-celery) configured only with what `worker-toolbox celery-config` prints.
 */
const celery = findCeleryPython();
if (!celery.found) warnCeleryMissing("the Python Celery interop test", celery.reason);
const celeryVersion = celery.found ? celery.celeryVersion : undefined;

const touch = defineTask({
  name: "interop.touch",
  args: z.tuple([z.string(), z.number().int()]),
  kwargs: z.strictObject({ tag: z.string().optional() }),
  result: z.object({ written: z.string(), value: z.number() }),
});

const { amqpUrl, databaseUrl, managementUrl } = testServers();
const prefix = createTestNamespace("celery");
const dir = mkdtempSync(join(tmpdir(), "wt-interop-"));
let database: TestDatabase;
let python: PythonCelery | undefined;
let worker: PythonWorker | undefined;
let producer: Producer | undefined;

async function cli(...args: string[]): Promise<string> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(
    [...args, "--env-prefix", prefix, "--amqp-url", amqpUrl, "--database-url", database.url],
    {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      env: {},
    },
  );
  if (code !== 0) throw new Error(`worker-toolbox ${args.join(" ")} exited ${code}: ${stderr}`);
  return stdout;
}

describe.skipIf(!celeryVersion)(`Python Celery ${celeryVersion} interop`, () => {
  beforeAll(async () => {
    database = await createTestDatabase(databaseUrl, "celery_interop");
    await cli("db", "migrate");
    python = await pythonCelery({ prefix, services: ["interop"], amqpUrl, databaseUrl: database.url });
    worker = await python.startWorker();
  });

  afterAll(async () => {
    await producer?.close();
    await python?.close();
    if (managementUrl) await deleteNamespace(managementUrl, prefix);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the settings name the planned queue, its arguments, JSON and late acks", async () => {
    const settings = JSON.parse(
      await cli("celery-config", "--service", "interop", "--format", "json"),
    ) as Record<string, unknown>;
    expect(settings).toMatchObject({
      task_default_exchange: `${prefix}.tasks`,
      task_queues: [
        {
          name: `${prefix}.interop`,
          exchange: `${prefix}.tasks`,
          routing_key: "interop.#",
          queue_arguments: { "x-queue-type": "quorum", "x-dead-letter-exchange": `${prefix}.dead` },
        },
      ],
      task_serializer: "json",
      accept_content: ["json"],
      task_acks_late: true,
      task_reject_on_worker_lost: true,
    });
    expect(String(settings.result_backend)).toMatch(/^db\+postgresql:\/\//);
    // Secrets are masked unless asked for.
    const password = decodeURIComponent(new URL(amqpUrl).password);
    expect(String(settings.broker_url)).toContain(":***@");
    expect(String(settings.broker_url)).not.toContain(`:${password}@`);
  });

  it("a task sent by the TypeScript producer is executed by the Python worker", async () => {
    const config = parseConfig({
      environment: { prefix },
      broker: { url: amqpUrl },
      database: { url: database.url },
    });
    producer = createProducer({ config, contracts: [touch], logger: pino({ level: "silent" }) });
    await producer.ready(20_000);
    const path = join(dir, `touched-${randomUUID()}.json`);
    const parent = { id: randomUUID(), rootId: randomUUID() };
    const receipt = await producer.send(
      touch,
      [path, 42],
      { tag: "from-typescript" },
      { parent, tracking: { requestedBy: "user:42" } },
    );

    await expect
      .poll(() => existsSync(path), { timeout: 60_000, interval: 200 })
      .toBe(true)
      .catch((error: unknown) => {
        throw new Error(`the Python worker did not run the task; its log:\n${worker?.log()}`, {
          cause: error,
        });
      });
    const written = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    expect(written).toEqual({
      value: 42,
      tag: "from-typescript",
      id: receipt.id,
      root_id: parent.rootId,
      parent_id: parent.id,
      headers: { "x-wt-tracking": { requestedBy: "user:42" } },
    });

    // Celery stored the result through the printed result_backend, in the toolbox's migrated table.
    const client = testClient({ connectionString: database.url });
    await client.connect();
    try {
      await expect
        .poll(
          async () =>
            (await client.query("SELECT status, name FROM celery_taskmeta WHERE task_id = $1", [receipt.id]))
              .rows[0],
          { timeout: 20_000 },
        )
        .toEqual({ status: "SUCCESS", name: "interop.touch" });
    } finally {
      await client.end();
    }
  }, 120_000);
});
