import {
  entityNames,
  parseConfig,
  type ToolboxConfig,
  type ToolboxConfigInput,
} from "@worker-toolbox/config";
import { createTestDatabase, createTestNamespace, deleteNamespace } from "@worker-toolbox/testing";
import amqp, { type ConfirmChannel, type GetMessage, type Options } from "amqplib";
import type pg from "pg";
import { pino } from "pino";
import { createProducer } from "../../packages/runtime/src/producer/index.js";
import type { Producer } from "../../packages/runtime/src/producer/types.js";
import { migrate } from "../../packages/runtime/src/results/migrate.js";
import { contracts, SERVICE } from "../fixtures/workers/tasks.js";
import { testPool } from "../support/database.js";

export const testLogger = pino({ level: process.env.WT_TEST_LOG ?? "silent" });

export interface ResultRow {
  task_id: string;
  status: string;
  retries: number | null;
  result_json: unknown;
  meta: unknown;
  error: { type: string; message: string; stack?: string } | null;
  parent_id: string | null;
  root_id: string | null;
}

export interface Servers {
  amqpUrl: string;
  databaseUrl: string;
  managementUrl: string | undefined;
}

export interface ConfigOverrides {
  worker?: Partial<ToolboxConfigInput["worker"]>;
  retry?: Partial<ToolboxConfigInput["retry"]>;
  queue?: Partial<ToolboxConfigInput["queue"]>;
}

/** One test file's world: a fresh migrated database, a random prefix, a producer and a raw AMQP channel. */
export interface Harness {
  config: ToolboxConfig;
  prefix: string;
  databaseUrl: string;
  pool: pg.Pool;
  producer: Producer;
  /** A live confirm channel for raw publishes and queue inspection (reopened after a broker restart). */
  channel(): Promise<ConfirmChannel>;
  /** Messages ready in the service queue and its dead-letter queue. */
  depths(): Promise<{ queue: number; dead: number }>;
  rows(ids?: readonly string[]): Promise<ResultRow[]>;
  row(id: string): Promise<ResultRow | undefined>;
  /** Poll until the task has a row with `status`. */
  waitForStatus(id: string, status: string, timeoutMs?: number): Promise<ResultRow>;
  /** Take every message now in the service's dead-letter queue. */
  takeDeadLetters(): Promise<GetMessage[]>;
  publishRaw(routingKey: string, content: Buffer, properties?: Options.Publish): Promise<void>;
  close(): Promise<void>;
}

export async function createHarness(
  label: string,
  servers: Servers,
  overrides: ConfigOverrides = {},
): Promise<Harness> {
  const db = await createTestDatabase(servers.databaseUrl, label);
  const pool = testPool({ connectionString: db.url, max: 4 });
  pool.on("error", () => undefined);
  await migrate(pool, { schema: "public" });
  const prefix = createTestNamespace(label);
  const config = parseConfig({
    mode: "test",
    service: SERVICE,
    environment: { prefix },
    broker: { url: servers.amqpUrl, reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 1_000 },
    database: { url: db.url, poolSize: 5 },
    // Short rungs keep retry and eta tests fast; the smallest rung is the precision of a delay.
    queue: { delayRungsMs: [100, 200, 400, 800, 1_600, 3_200], ...overrides.queue },
    retry: { backoffBaseMs: 200, backoffMaxMs: 2_000, jitter: "none", ...overrides.retry },
    worker: { shutdownGraceMs: 5_000, ...overrides.worker },
    logLevel: "silent",
  });
  const producer = createProducer({ config, contracts, logger: testLogger, name: `test:${label}` });
  await producer.ready(30_000);
  const names = entityNames(prefix);
  const raw = reopeningChannel(servers.amqpUrl);
  const channel = raw.channel;
  const rows = resultRows(pool);
  const row = async (id: string) => (await rows([id]))[0];

  return {
    config,
    prefix,
    databaseUrl: db.url,
    pool,
    producer,
    channel,
    async depths() {
      const ch = await channel();
      const queue = (await ch.checkQueue(names.serviceQueue(SERVICE))).messageCount;
      const dead = (await ch.checkQueue(names.serviceDeadLetterQueue(SERVICE))).messageCount;
      return { queue, dead };
    },
    rows,
    row,
    async waitForStatus(id, status, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      let last: ResultRow | undefined;
      while (Date.now() < until) {
        last = await row(id);
        if (last?.status === status) return last;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(
        `task ${id} did not reach ${status} within ${timeoutMs} ms (last: ${JSON.stringify(last)})`,
      );
    },
    async takeDeadLetters() {
      const taken: GetMessage[] = [];
      for (;;) {
        const message = await (await channel()).get(names.serviceDeadLetterQueue(SERVICE), { noAck: true });
        if (!message) return taken;
        taken.push(message);
      }
    },
    async publishRaw(routingKey, content, properties = {}) {
      const ch = await channel();
      await new Promise<void>((resolve, reject) =>
        ch.publish(names.exchange, routingKey, content, { persistent: true, ...properties }, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
    },
    async close() {
      await producer.close();
      await raw.close();
      if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix).catch(() => undefined);
      await pool.end();
      await db.drop();
    },
  };
}

/** A confirm channel opened on first use and opened again once it or its connection closed. */
function reopeningChannel(amqpUrl: string): {
  channel: () => Promise<ConfirmChannel>;
  close: () => Promise<void>;
} {
  let live: Promise<{ connection: amqp.ChannelModel; channel: ConfirmChannel }> | undefined;
  const open = async () => {
    const connection = await amqp.connect(amqpUrl);
    connection.on("error", () => undefined);
    const channel = await connection.createConfirmChannel();
    channel.on("error", () => undefined);
    const forget = () => {
      live = undefined;
    };
    connection.once("close", forget);
    channel.once("close", forget);
    return { connection, channel };
  };
  return {
    async channel() {
      live ??= open();
      live.catch(() => {
        live = undefined;
      });
      return (await live).channel;
    },
    async close() {
      const opened = live;
      live = undefined;
      await opened?.then(({ connection }) => connection.close()).catch(() => undefined);
    },
  };
}

const ROW_COLUMNS = "task_id, status, retries, result_json, meta, error, parent_id, root_id";

/** The result rows of `ids`, or all of them. */
function resultRows(pool: pg.Pool): (ids?: readonly string[]) => Promise<ResultRow[]> {
  return async (ids) => {
    const { rows } = ids
      ? await pool.query<ResultRow>(`SELECT ${ROW_COLUMNS} FROM celery_taskmeta WHERE task_id = ANY($1)`, [
          ids,
        ])
      : await pool.query<ResultRow>(`SELECT ${ROW_COLUMNS} FROM celery_taskmeta`);
    return rows;
  };
}
