import {
  CONFIG_ROLES,
  type ConfigRole,
  configFields,
  maskSecrets,
  ROLE_REQUIREMENTS,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import type { ConnectionCheck } from "@worker-toolbox/runtime/ops";
import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import { formatValue, json, table } from "../output.js";
import type { CommandBody } from "./table.js";

type CheckArgs = GlobalOptions & { json: boolean; role: ConfigRole; offline: boolean };

/** `worker-toolbox config …`: inspect the resolved configuration. */
export function configCommands(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "check",
          describe:
            "Load the config from defaults, file, environment and flags as a process of --role would; print it " +
            "with secrets masked (or every problem at once, exit 2); then log in to every broker node and the " +
            "database with the configured identities (exit 1 when one fails, with its error code)",
          builder: (inner: Argv) =>
            inner
              .option("json", { type: "boolean", default: false, describe: "Print the config as JSON" })
              .option("role", {
                choices: CONFIG_ROLES,
                default: "tools" as ConfigRole,
                describe:
                  "Validate for this kind of process: a producer needs no database; a worker needs a service",
              })
              .option("offline", {
                type: "boolean",
                default: false,
                describe: "Only validate; do not connect to the broker or the database",
              })
              .example("$0 config check", "show the effective config and try its credentials")
              .example("WT_MODE=production $0 config check --offline", "see what production mode still needs")
              .example("WT_MODE=production $0 config check --role producer", "what a producer still needs")
              .example("$0 config check --offline --json", "the config as JSON, no connections"),
          handler: (argv) => check(ctx, argv as unknown as CheckArgs),
        })
        .demandCommand(1, "name a config command (see --help)"),
  };
}

async function check(ctx: CommandContext, argv: CheckArgs): Promise<void> {
  const usesDatabase = ROLE_REQUIREMENTS[argv.role].includes("database.url");
  const config = ctx.loadConfig(argv, {
    role: argv.role,
    uses: usesDatabase ? ["broker", "database"] : ["broker"],
  });
  const masked = maskSecrets(config);
  // Imported on use, so `config check --help` does not load the runtime (see commands/index.ts).
  const connections = argv.offline
    ? undefined
    : await (await import("@worker-toolbox/runtime/ops")).checkConnections(config, {
        database: usesDatabase || config.database.url !== undefined,
      });
  if (connections?.some((check) => !check.ok)) ctx.fail(1);
  if (argv.json) {
    ctx.print(json(connections ? { config: masked, connections } : masked));
    return;
  }
  ctx.print(`Configuration OK for role ${argv.role} (mode ${config.mode}). Secrets are masked.`);
  ctx.print();
  const rows = configFields().map((field) => [
    field.path,
    field.secret && valueAt(config, field.path) !== undefined
      ? "***"
      : formatValue(valueAt(masked, field.path)),
    field.envVar,
  ]);
  ctx.print(table(["setting", "value", "env var"], rows));
  if (connections) printConnections(ctx, connections);
}

function printConnections(ctx: CommandContext, connections: readonly ConnectionCheck[]): void {
  ctx.print();
  ctx.print(
    table(
      ["login", "target", "detail"],
      connections.map((check) => [check.ok ? "ok" : `FAIL ${check.code}`, check.target, check.detail]),
    ),
  );
  const failed = connections.filter((check) => !check.ok);
  for (const check of failed.filter((c) => c.hint)) ctx.print(`  ${check.target}: fix: ${check.hint}`);
  ctx.print(
    failed.length === 0
      ? "\nEvery server accepted the configured identities."
      : `\n${failed.length} of ${connections.length} logins failed.`,
  );
}

function valueAt(config: ToolboxConfig, path: string): unknown {
  let node: unknown = config;
  for (const part of path.split(".")) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}
