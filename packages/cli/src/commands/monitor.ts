import { type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type { MonitorOptions } from "@worker-toolbox/runtime/ops";
import type { ChannelModel } from "amqplib";
import type pg from "pg";
import type { Logger } from "pino";
import type { Argv } from "yargs";
import { type CommandContext, type GlobalOptions, servicesFrom } from "../context.js";
import { loadOpsRuntime, type OpsRuntime } from "../opsRuntime.js";
import type { CommandBody } from "./table.js";

type MonitorArgs = GlobalOptions & {
  once: boolean;
  interval?: number;
  webhook?: string;
  json: boolean;
  audit?: boolean;
};

/** `worker-toolbox monitor`: sample queues at an interval and raise alarms (pino lines on stdout). */
export function monitorCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .option("once", {
          type: "boolean",
          default: false,
          describe: "Take one sample and exit: 1 when an alarm is active (for cron and CI)",
        })
        .option("interval", {
          type: "number",
          requiresArg: true,
          describe: "Seconds between samples (WT_MONITOR_INTERVAL_SECONDS, default 30)",
        })
        .option("webhook", {
          type: "string",
          requiresArg: true,
          describe: "POST alarms raised or resolved to this URL as JSON (WT_MONITOR_WEBHOOK_URL)",
        })
        .option("json", {
          type: "boolean",
          default: false,
          describe: "One JSON object per sample on stdout (queues, alarms, audit); logs go to stderr",
        })
        .option("audit", {
          type: "boolean",
          describe:
            "Also run the loss audit every monitor.audit.intervalSeconds and alarm on unaccounted tasks " +
            "(WT_MONITOR_AUDIT_ENABLED)",
        })
        .example("$0 monitor --service export", "watch one service until SIGTERM (a table on a terminal)")
        .example("$0 monitor --once --json", "one sample of every service found on the broker, for a script")
        .example("$0 monitor --audit", "also alarm when tasks are lost"),
    handler: (argv) => monitor(ctx, argv as unknown as MonitorArgs),
  };
}

async function monitor(ctx: CommandContext, argv: MonitorArgs): Promise<void> {
  // The database is needed only when the loss audit runs (--audit or monitor.audit.enabled).
  let config = ctx.loadConfig(argv, { uses: ["broker"] });
  const auditing = argv.audit ?? config.monitor.audit.enabled;
  if (auditing) config = ctx.loadConfig(argv, { uses: ["broker", "database"] });
  const intervalMs = intervalOf(argv.interval, config);
  if (argv.webhook !== undefined && !/^https?:\/\/./.test(argv.webhook)) {
    throw new ToolboxError("CONFIG_INVALID", `--webhook "${argv.webhook}" is not an http(s) URL.`, {
      hint: "pass the full URL, e.g. https://hooks.example.com/alerts",
    });
  }
  // On a terminal a table per sample; with --json one JSON object per sample; otherwise (a service manager,
  // a log shipper) pino lines on stdout like every long-running toolbox process.
  const mode = argv.json ? "json" : ctx.io.stdoutIsTTY ? "table" : "log";
  const [rt, { pino }, { renderTick }] = await Promise.all([
    loadOpsRuntime(),
    import("pino"),
    import("./monitorOutput.js"),
  ]);
  const logger = pino(
    { level: mode === "log" ? config.logLevel : "warn" },
    { write: (line: string) => (mode === "log" ? ctx.io.stdout(line) : ctx.io.stderr(line)) },
  );
  const broker = new rt.BrokerConnection({ config, logger, name: "worker-toolbox monitor" }).start();
  const pool = auditing ? rt.createDatabasePool(config, { max: 2 }) : undefined;
  try {
    const services = await resolveServices(rt, argv, config, logger);
    const monitor = rt.createMonitor({
      config,
      services,
      logger,
      getConnection: () => broker.ready(),
      webhookUrl: argv.webhook ?? config.monitor.webhookUrl,
      intervalMs,
      ...(pool ? { audit: auditOf(rt, config, pool, services, () => broker.ready()) } : {}),
      logSamples: mode === "log",
      onTick: (tick) => {
        if (mode === "json") ctx.print(JSON.stringify({ environment: config.environment.prefix, ...tick }));
        else if (mode === "table") {
          // A continuous monitor on a terminal redraws in place, like top; --once just prints.
          if (!argv.once) ctx.io.stdout("\x1b[2J\x1b[H");
          ctx.print(renderTick(config.environment.prefix, tick));
        }
      },
    });
    if (argv.once) {
      const { alarms } = await monitor.tick();
      if (alarms.length > 0) ctx.fail(1);
      return;
    }
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "stopping monitor");
      stop.abort();
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    try {
      await monitor.run(stop.signal);
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
  } finally {
    await broker.close();
    await pool?.end();
  }
}

function auditOf(
  rt: OpsRuntime,
  config: ToolboxConfig,
  pool: pg.Pool,
  services: readonly string[],
  connection: () => Promise<ChannelModel>,
): NonNullable<MonitorOptions["audit"]> {
  const audit = config.monitor.audit;
  return {
    intervalMs: audit.intervalSeconds * 1_000,
    run: async () =>
      rt.runAudit({
        config,
        pool,
        connection: await connection(),
        management: {
          client: rt.createManagementClient({
            url: rt.deriveManagementUrl(config.broker.url, config.broker.managementUrl),
          }),
          vhost: rt.vhostOf(config.broker.url),
        },
        services,
        sinceMs: audit.windowMs,
        graceMs: audit.graceMs,
      }),
  };
}

function intervalOf(interval: number | undefined, config: ToolboxConfig): number {
  if (interval === undefined) return config.monitor.intervalSeconds * 1_000;
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new ToolboxError("CONFIG_INVALID", `--interval ${interval} is not a positive number of seconds.`, {
      hint: "e.g. --interval 30",
    });
  }
  return interval * 1_000;
}

/** --service flags, else config.service, else every service found on the broker (management API). */
async function resolveServices(
  rt: OpsRuntime,
  argv: MonitorArgs,
  config: ToolboxConfig,
  logger: Logger,
): Promise<string[]> {
  const named = servicesFrom(argv, config);
  if (named.length > 0) return named;
  const client = rt.createManagementClient({ url: rt.managementUrls(config) });
  try {
    const found = await rt.discoverServices(client, rt.configVhost(config), config.environment.prefix);
    logger.info({ services: found }, "monitoring the services found on the broker");
    return found;
  } catch (error) {
    logger.warn(
      { err: (error as Error).message.split("\n")[0] },
      "no service named and the broker's services cannot be listed; only the platform queue is watched",
    );
    return [];
  }
}
