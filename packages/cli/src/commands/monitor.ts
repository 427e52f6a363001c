import { type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { Argv } from "yargs";
import { type CommandContext, type GlobalOptions, servicesFrom } from "../context.js";
import type { CommandBody } from "./table.js";

type MonitorArgs = GlobalOptions & { once: boolean; interval?: number; webhook?: string };

// The runtime (pg, amqplib) is imported by the handlers that use it, so `--help` does not load it
// (see commands/index.ts).
const runtime = async () => {
  const [broker, ops, topology] = await Promise.all([
    import("@worker-toolbox/runtime/broker"),
    import("@worker-toolbox/runtime/ops"),
    import("@worker-toolbox/runtime/topology"),
  ]);
  return { ...broker, ...ops, ...topology };
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
        .example("$0 monitor --service export", "watch one service until SIGTERM")
        .example("$0 monitor --once", "one sample of every service found on the broker"),
    handler: (argv) => monitor(ctx, argv as unknown as MonitorArgs),
  };
}

async function monitor(ctx: CommandContext, argv: MonitorArgs): Promise<void> {
  const config = ctx.loadConfig(argv, { uses: ["broker"] });
  const intervalMs = intervalOf(argv.interval, config);
  if (argv.webhook !== undefined && !/^https?:\/\/./.test(argv.webhook)) {
    throw new ToolboxError("CONFIG_INVALID", `--webhook "${argv.webhook}" is not an http(s) URL.`, {
      hint: "pass the full URL, e.g. https://hooks.example.com/alerts",
    });
  }
  const [{ BrokerConnection, createMonitor }, { pino }] = await Promise.all([runtime(), import("pino")]);
  // JSON log lines on stdout, like every long-running toolbox process.
  const logger = pino({ level: config.logLevel }, { write: (line: string) => ctx.io.stdout(line) });
  const broker = new BrokerConnection({ config, logger, name: "worker-toolbox monitor" }).start();
  try {
    const services = await resolveServices(argv, config, logger);
    const monitor = createMonitor({
      config,
      services,
      logger,
      getConnection: () => broker.ready(),
      webhookUrl: argv.webhook ?? config.monitor.webhookUrl,
      intervalMs,
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
  }
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
async function resolveServices(argv: MonitorArgs, config: ToolboxConfig, logger: Logger): Promise<string[]> {
  const named = servicesFrom(argv, config);
  if (named.length > 0) return named;
  const { configVhost, createManagementClient, discoverServices, managementUrls } = await runtime();
  const client = createManagementClient({ url: managementUrls(config) });
  try {
    const found = await discoverServices(client, configVhost(config), config.environment.prefix);
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
