import { resolve } from "node:path";
import { loadConfig, planTopology, SERVICE_NAME_PATTERN, ToolboxError } from "@worker-toolbox/config";
import { createLogger, type TaskView } from "@worker-toolbox/runtime";
import { createDatabasePool, followResults, migrate } from "@worker-toolbox/runtime/results";
import { applyTopology } from "@worker-toolbox/runtime/topology";
import type { Logger } from "pino";
import { connectOnce } from "../broker.js";
import type { CommandContext, GlobalOptions } from "../context.js";
import { readManifest } from "../generator/manifest.js";
import { describeConnection, devConnections } from "./connections.js";
import { startWorkerProcess } from "./workerProcess.js";

export interface DevArgs extends GlobalOptions {
  dir: string;
  entry: string;
  watch: boolean;
}

/**
 * `worker-toolbox dev`: local servers (named ones, or the kept dev servers), migrations, the service's
 * topology, then the worker under `tsx watch` with readable logs, and every task result as it is stored.
 * Runs until the worker exits (Ctrl+C stops both); the dev servers keep running for the next time.
 */
export async function runDev(ctx: CommandContext, argv: DevArgs): Promise<void> {
  const dir = resolve(argv.dir);
  const service = serviceOf(dir, argv);
  const logger = createLogger(
    { logLevel: "info", logFormat: "pretty", mode: "development" },
    {
      destination: { write: (line: string) => ctx.io.stdout(line), isTTY: process.stdout.isTTY },
      base: { component: "dev" },
    },
  );
  const connections = await devConnections(
    {
      ...optional("amqpUrl", argv.amqpUrl ?? ctx.io.env.AMQP_URL),
      ...optional("managementUrl", ctx.io.env.RABBITMQ_MANAGEMENT_URL),
      ...optional("databaseUrl", argv.databaseUrl ?? ctx.io.env.DATABASE_URL),
    },
    logger,
  );
  logger.info(`broker   ${describeConnection(connections.amqpUrl, connections.broker)}`);
  logger.info(`database ${describeConnection(connections.databaseUrl, connections.database)}`);

  // The worker's own environment: development mode, asked for here, with the URLs above.
  const env: NodeJS.ProcessEnv = {
    ...ctx.io.env,
    WT_MODE: "development",
    WT_LOG_FORMAT: ctx.io.env.WT_LOG_FORMAT ?? "pretty",
    AMQP_URL: connections.amqpUrl,
    DATABASE_URL: connections.databaseUrl,
    ...optional("RABBITMQ_MANAGEMENT_URL", connections.managementUrl),
    ...optional("WT_ENVIRONMENT_PREFIX", argv.envPrefix),
    ...optional("WT_CONFIG_FILE", argv.config),
  };
  const config = loadConfig({ env, overrides: { service } });
  const pool = createDatabasePool(config, { max: 2 });
  try {
    await prepare(config, logger, pool);
    const stopFollowing = await followResults(pool, {
      schema: config.database.schema,
      onResult: (task) => showResult(logger, task),
      onError: (error) => logger.warn({ err: error.message }, "cannot show task results"),
    });
    try {
      logger.info(
        `starting ${argv.entry}${argv.watch ? " (restarts when a file it imports changes)" : ""}; Ctrl+C stops`,
      );
      const code = await runWorker({ dir, entry: argv.entry, watch: argv.watch, env });
      if (code !== 0) ctx.fail(1);
    } finally {
      await stopFollowing();
    }
  } finally {
    await pool.end();
  }
  if (connections.broker.startsWith("local")) {
    logger.info(
      "the dev servers keep running for the next `worker-toolbox dev` (stop them: worker-toolbox dev stop)",
    );
  }
}

/** Migrate the results database and declare the service's topology (both idempotent). */
async function prepare(
  config: ReturnType<typeof loadConfig>,
  logger: Logger,
  pool: ReturnType<typeof createDatabasePool>,
): Promise<void> {
  const migrated = await migrate(pool, { schema: config.database.schema });
  logger.info(
    migrated.applied.length > 0
      ? `database migrated to version ${migrated.current}`
      : `database schema at version ${migrated.current}`,
  );
  const plan = planTopology(config);
  const connection = await connectOnce(config);
  try {
    const channel = await connection.createChannel();
    await applyTopology(channel, plan);
    await channel.close();
  } finally {
    await connection.close().catch(() => undefined);
  }
  logger.info(`topology of "${plan.prefix}" declared for ${config.service} (${plan.queues.length} queues)`);
}

/** One line per stored outcome: a result on success, the error otherwise. */
function showResult(logger: Logger, task: TaskView): void {
  const result = task.result;
  if (!result || task.status === "STARTED" || task.status === "PENDING") return;
  const took =
    result.startedAt && result.dateDone ? result.dateDone.getTime() - result.startedAt.getTime() : undefined;
  const fields = { taskId: task.taskId, ...(took !== undefined ? { ms: took } : {}) };
  const name = task.name ?? "task";
  if (task.status === "SUCCESS") logger.info({ ...fields, result: result.value }, `${name} succeeded`);
  else if (task.status === "PROGRESS") logger.info({ ...fields, meta: result.meta }, `${name} progress`);
  else logger.warn({ ...fields, error: result.error?.message }, `${name} ${task.status}`);
}

/**
 * Run the worker until it exits. Ctrl+C and SIGTERM are passed on, once each time they arrive: the first
 * makes the worker shut down gracefully, a second one makes it exit at once.
 */
function runWorker(options: Parameters<typeof startWorkerProcess>[0]): Promise<number> {
  const child = startWorkerProcess(options);
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  // Should this process die first, the worker's group (its own, see startWorkerProcess) goes too.
  const orphanGuard = () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
  };
  process.on("SIGTERM", forward);
  process.on("SIGINT", forward);
  process.on("exit", orphanGuard);
  return new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("SIGTERM", forward);
      process.off("SIGINT", forward);
      process.off("exit", orphanGuard);
      resolve(code ?? (signal === "SIGINT" || signal === "SIGTERM" ? 0 : 1));
    });
  });
}

function serviceOf(dir: string, argv: DevArgs): string {
  if (argv.service?.[0]) return argv.service[0];
  const service = readManifest(dir).answers.service;
  if (!SERVICE_NAME_PATTERN.test(service)) {
    throw new ToolboxError("CONFIG_INVALID", `${dir}: "${service}" is not a service name.`, {
      hint: "pass --service <name>",
    });
  }
  return service;
}

const optional = <K extends string>(key: K, value: string | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;
