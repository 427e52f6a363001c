import type { Argv } from "yargs";
import { celerySettings } from "../celery/celerySettings.js";
import { renderPython } from "../celery/renderPython.js";
import { type CommandContext, type GlobalOptions, servicesFrom } from "../context.js";
import { json } from "../output.js";
import type { CommandBody } from "./table.js";

/** `worker-toolbox celery-config --service <name> [--format python|json] [--show-secrets]` */
export function celeryConfigCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .option("format", {
          choices: ["python", "json"] as const,
          default: "python" as const,
          describe:
            'python: a module for app.config_from_object; json: the same data (routing_key "$task_name" = the task\'s name)',
        })
        .option("show-secrets", {
          type: "boolean",
          default: false,
          describe: "Print broker_url and result_backend with their passwords",
        })
        .example("$0 celery-config --service export > celeryconfig.py", "settings for a Python export worker")
        .example("$0 celery-config --service export --format json", "the same as JSON"),
    handler: (argv) => {
      const args = argv as unknown as GlobalOptions & { format: "python" | "json"; showSecrets: boolean };
      const config = ctx.loadConfig(args);
      const services = servicesFrom(args, config);
      if (services.length === 0) {
        ctx.warn("celery-config needs a service: pass --service <name> (or set WT_SERVICE).");
        ctx.fail(2);
        return;
      }
      const settings = celerySettings(config, services, { showSecrets: args.showSecrets });
      ctx.print(args.format === "json" ? json(settings) : renderPython(settings, config, services).trimEnd());
    },
  };
}
