import type { IncomingMessage, ServerResponse } from "node:http";
import { hostname } from "node:os";
import { getRequestListener } from "@hono/node-server";
import type { ToolboxConfig } from "@worker-toolbox/config";
import { BrokerConnection, ConfirmPublisher } from "@worker-toolbox/runtime/broker";
import {
  assertMigrated,
  createDatabasePool,
  createResultStore,
  guardPool,
} from "@worker-toolbox/runtime/results";
import type { Hono } from "hono";
import type { Pool } from "pg";
import { type Logger, pino } from "pino";
import { type Actions, createActions, WORKER_REPLY_MS } from "./actions.js";
import { type Authenticator, createAuthenticator } from "./auth.js";
import { type BrokerView, createBrokerView } from "./broker/brokerView.js";
import { ChangeFeed } from "./live/changeFeed.js";
import { createApp } from "./routes/app.js";
import type { Env } from "./routes/env.js";
import { consumeWorkerEvents } from "./workers/consumeWorkerEvents.js";
import { askWorkerQueues, type WorkerQueues } from "./workers/workerQueues.js";
import { WorkerRegistry } from "./workers/workerRegistry.js";

export interface DashboardOptions {
  config: ToolboxConfig;
  logger?: Logger;
  /** A pool to read with (the dashboard role's); created from `config.database` when omitted and closed by close(). */
  pool?: Pool;
  /** Services to show; default `config.service`, else every service found on the broker. */
  services?: readonly string[];
  /**
   * Where the dashboard is mounted when it shares a server (`/ops`): links and assets are prefixed with it,
   * and a request path that starts with it has it stripped (frameworks that strip it themselves work too).
   */
  basePath?: string;
}

/** Everything one dashboard process holds, with one `close()`. */
export interface Dashboard {
  /** The Hono app: `app.fetch` serves any runtime that speaks fetch (Hono, Bun, Deno, workers). */
  readonly app: Hono<Env>;
  /** A Node request listener: `http.createServer(handler)`, or `expressApp.use("/ops", handler)`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly workers: WorkerRegistry;
  readonly actions: Actions;
  /** Connect to the broker and LISTEN on the database; resolves once the schema is checked. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface DashboardServices {
  config: ToolboxConfig;
  logger: Logger;
  pool: Pool;
  schema: string;
  auth: Authenticator;
  workers: WorkerRegistry;
  feed: ChangeFeed;
  broker: BrokerView;
  actions: Actions;
  /** Which queues a worker consumes (its `active_queues`): read-only, for every role. */
  workerQueues(node: string): Promise<WorkerQueues>;
  base: string;
}

export function createDashboard(options: DashboardOptions): Dashboard {
  const { config } = options;
  const logger = options.logger ?? pino({ level: config.logLevel });
  const pool = options.pool ? guardPool(options.pool, logger) : createDatabasePool(config, { logger });
  const ownsPool = options.pool === undefined;
  const base = (options.basePath ?? "").replace(/\/+$/, "");
  const workers = new WorkerRegistry();
  const publisher = new ConfirmPublisher({
    logger,
    deadlineMs: config.producer.publishTimeoutMs,
    name: "dashboard",
  });
  const broker = new BrokerConnection({
    config,
    logger,
    name: `dashboard:${hostname()}:${process.pid}`,
    setup: async (connection) => {
      await publisher.attach(connection);
      await consumeWorkerEvents(connection, config.environment.prefix, workers, logger);
    },
  });
  const connection = () => broker.ready();
  const feed = new ChangeFeed({ pool, schema: config.database.schema, logger });
  const store = createResultStore({
    pool,
    schema: config.database.schema,
    workerName: `dashboard@${hostname()}`,
    preparedStatements: config.database.preparedStatements,
    extended: config.database.resultExtended,
  });
  const actions = createActions({
    config,
    logger,
    connection,
    publisher: async () => {
      await broker.ready();
      return publisher;
    },
    store,
    results: { pool, schema: config.database.schema },
  });
  const services: DashboardServices = {
    config,
    logger,
    pool,
    schema: config.database.schema,
    auth: createAuthenticator({
      viewerPassword: config.dashboard.viewerPassword,
      operatorPassword: config.dashboard.operatorPassword,
    }),
    workers,
    feed,
    broker: createBrokerView(config, connection, options.services ? { services: options.services } : {}),
    actions,
    workerQueues: async (node) =>
      askWorkerQueues(await connection(), config.environment.prefix, node, WORKER_REPLY_MS),
    base,
  };
  const app = createApp(services);
  const listener = getRequestListener(app.fetch);
  workers.on("change", () => feed.publish("workers"));
  let sweeper: NodeJS.Timeout | undefined;

  return {
    app,
    workers,
    actions,
    handler: (req, res) => {
      if (base && req.url?.startsWith(base)) req.url = req.url.slice(base.length) || "/";
      void listener(req, res);
    },
    async start() {
      await assertMigrated(pool, config.database.schema);
      broker.start();
      await feed.listen();
      sweeper = setInterval(() => workers.sweep(), 1_000);
      sweeper.unref();
    },
    async close() {
      clearInterval(sweeper);
      await feed.close();
      await publisher.close(1_000).catch(() => {});
      await broker.close();
      if (ownsPool) await pool.end();
    },
  };
}
