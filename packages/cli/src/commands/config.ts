import { configFields, maskSecrets, type ToolboxConfig } from "@worker-toolbox/config";
import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import { formatValue, json, table } from "../output.js";
import type { CommandBody } from "./table.js";

/** `worker-toolbox config …`: inspect the resolved configuration. */
export function configCommands(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "check",
          describe:
            "Load the config from defaults, file, environment and flags; print it with secrets masked, " +
            "or every problem at once (exit 2)",
          builder: (inner: Argv) =>
            inner
              .option("json", { type: "boolean", default: false, describe: "Print the config as JSON" })
              .example("$0 config check", "show the effective config")
              .example("WT_MODE=production $0 config check", "see what production mode still needs"),
          handler: (argv) => check(ctx, argv as GlobalOptions & { json: boolean }),
        })
        .demandCommand(1, "name a config command (see --help)"),
  };
}

function check(ctx: CommandContext, argv: GlobalOptions & { json: boolean }): void {
  const config = ctx.loadConfig(argv);
  const masked = maskSecrets(config);
  if (argv.json) {
    ctx.print(json(masked));
    return;
  }
  ctx.print(`Configuration OK (mode ${config.mode}). Secrets are masked.`);
  ctx.print();
  const rows = configFields().map((field) => [
    field.path,
    field.secret && valueAt(config, field.path) !== undefined
      ? "***"
      : formatValue(valueAt(masked, field.path)),
    field.envVar,
  ]);
  ctx.print(table(["setting", "value", "env var"], rows));
}

function valueAt(config: ToolboxConfig, path: string): unknown {
  let node: unknown = config;
  for (const part of path.split(".")) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}
