import { startDashboard } from "@worker-toolbox/dashboard";
import { pino } from "pino";
import type { Argv } from "yargs";
import { type CommandContext, type GlobalOptions, servicesFrom } from "../context.js";
import type { CommandBody } from "./table.js";

type DashboardArgs = GlobalOptions & { host?: string; port?: number; basePath?: string };

/** `worker-toolbox dashboard`: serve the web dashboard until SIGTERM/SIGINT. */
export function dashboardCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .option("host", {
          type: "string",
          requiresArg: true,
          describe: "Address to bind (WT_DASHBOARD_HOST, default 127.0.0.1; others need a password)",
        })
        .option("port", {
          type: "number",
          requiresArg: true,
          describe: "Port (WT_DASHBOARD_PORT, default 8089; 0: any free port)",
        })
        .option("base-path", {
          type: "string",
          requiresArg: true,
          describe: "Serve under this path prefix, e.g. /ops behind a reverse proxy",
        })
        .example("$0 dashboard", "on http://127.0.0.1:8089/")
        .example(
          "WT_DASHBOARD_OPERATOR_PASSWORD=… WT_DASHBOARD_VIEWER_PASSWORD=… $0 dashboard --host 0.0.0.0",
          "reachable by others: basic auth as operator or viewer",
        ),
    handler: async (argv) => {
      const args = argv as unknown as DashboardArgs;
      const config = ctx.loadConfig(args);
      const logger = pino({ level: config.logLevel }, pino.destination(2));
      const services = servicesFrom(args, config);
      const running = await startDashboard({
        config,
        logger,
        ...(services.length > 0 ? { services } : {}),
        ...(args.host !== undefined ? { host: args.host } : {}),
        ...(args.port !== undefined ? { port: args.port } : {}),
        ...(args.basePath ? { basePath: args.basePath } : {}),
      });
      ctx.print(`Dashboard on ${running.url}`);
      await new Promise<void>((resolve) => {
        process.once("SIGTERM", () => resolve());
        process.once("SIGINT", () => resolve());
      });
      await running.close();
    },
  };
}
