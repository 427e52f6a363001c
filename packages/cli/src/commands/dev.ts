import type { Argv } from "yargs";
import type { CommandContext } from "../context.js";
import { json } from "../output.js";
import type { CommandBody } from "./table.js";

/** `worker-toolbox dev [stop|status]`: the developer's loop (docs/development.md). */
export function devCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .option("dir", { type: "string", default: ".", requiresArg: true, describe: "The service directory" })
        .option("entry", {
          type: "string",
          default: "src/worker.ts",
          requiresArg: true,
          describe: "The worker's entry point, relative to --dir",
        })
        .option("watch", {
          type: "boolean",
          default: true,
          describe: "Restart the worker when a file it imports changes (--no-watch: run it once)",
        })
        .command({
          command: "stop",
          describe: "Stop the local RabbitMQ and PostgreSQL kept for dev (their data stays)",
          builder: (inner: Argv) =>
            inner.option("purge", { type: "boolean", default: false, describe: "Delete their data too" }),
          handler: async (argv) => {
            const { stopDevServers } = await import("@worker-toolbox/testing");
            const stopped = await stopDevServers({
              removeData: (argv as { purge?: boolean }).purge === true,
            });
            ctx.print(
              stopped.length > 0 ? `Stopped ${stopped.join(" and ")}.` : "No dev server was running.",
            );
          },
        })
        .command({
          command: "status",
          describe: "Show the local dev servers and whether they answer (passwords masked)",
          builder: (inner: Argv) =>
            inner.option("json", { type: "boolean", default: false, describe: "Print JSON" }),
          handler: async (argv) => {
            const [{ devServersStatus, devStateDir }, { maskUrl }] = await Promise.all([
              import("@worker-toolbox/testing"),
              import("@worker-toolbox/config"),
            ]);
            const status = await devServersStatus();
            const masked = {
              stateDir: devStateDir(),
              rabbitmq: status.rabbitmq && {
                url: maskUrl(status.rabbitmq),
                running: status.running.rabbitmq,
              },
              postgres: status.postgres && {
                url: maskUrl(status.postgres),
                running: status.running.postgres,
              },
            };
            if ((argv as { json?: boolean }).json) ctx.print(json(masked));
            else {
              ctx.print(`state: ${masked.stateDir}`);
              for (const [name, server] of [
                ["RabbitMQ", masked.rabbitmq],
                ["PostgreSQL", masked.postgres],
              ] as const) {
                ctx.print(
                  `${name}: ${server ? `${server.url} (${server.running ? "running" : "stopped"})` : "never started"}`,
                );
              }
            }
          },
        })
        .example("$0 dev", "run this service's worker on local servers, restarting on change")
        .example(
          "$0 dev --dir services/export",
          "another service's worker (AMQP_URL, DATABASE_URL: your servers)",
        )
        .example("$0 dev stop", "stop the local servers"),
    handler: async (argv) => {
      const { runDev } = await import("../dev/runDev.js");
      await runDev(ctx, argv as unknown as import("../dev/runDev.js").DevArgs);
    },
  };
}
