// Only what every call needs is imported here: yargs and the command table. A command's module — and with
// it the config package, the runtime, pg, amqplib, the generator — is imported when the command is used
// (commands/index.ts explains the pattern; bench/cliStartup.ts measures it).
import { readFileSync } from "node:fs";
import yargs, { type Argv } from "yargs";
import { commandTable } from "./commands/index.js";
import { lazyCommand } from "./commands/table.js";
import type { CliIo, CommandContext } from "./context.js";

/** A mistake in how the command was called (unknown flag, missing command): exit 2. */
class UsageError extends Error {}

const VERSION = (() => {
  try {
    // src/ and dist/ both sit one level below the package root.
    return (
      JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
    ).version;
  } catch {
    return "unknown";
  }
})();

/** Help text is wrapped at a fixed width so docs/cli.md does not depend on the terminal. */
export const HELP_WIDTH = 100;

/**
 * Build the yargs app. `state.exitCode` collects the exit code commands set; usage errors throw
 * `UsageError` out of `parseAsync` instead of exiting the process, so tests can run commands in-process.
 */
export function buildCli(io: CliIo, state: { exitCode: number } = { exitCode: 0 }): Argv {
  let ctx: Promise<CommandContext> | undefined;
  const context = () => {
    ctx ??= import("./context.js").then(({ createContext }) => createContext(io, state));
    return ctx;
  };
  let app = yargs()
    .scriptName("worker-toolbox")
    .usage("$0 <command>\n\nScaffold, wire, inspect and operate Celery-compatible worker services.")
    .option("config", {
      type: "string",
      describe: "JSON config file (same as WT_CONFIG_FILE)",
      requiresArg: true,
    })
    .option("env-prefix", {
      type: "string",
      describe: "Environment prefix of every broker name (WT_ENVIRONMENT_PREFIX)",
      requiresArg: true,
    })
    .option("service", {
      type: "string",
      array: true,
      describe: "Service name (WT_SERVICE); repeat to plan several services",
      requiresArg: true,
    })
    .option("amqp-url", { type: "string", describe: "RabbitMQ URL (AMQP_URL)", requiresArg: true })
    .option("database-url", { type: "string", describe: "PostgreSQL URL (DATABASE_URL)", requiresArg: true })
    .group(["config", "env-prefix", "service", "amqp-url", "database-url"], "Global options:");
  for (const entry of commandTable) app = app.command(lazyCommand(entry, context));
  return app
    .demandCommand(1, "name a command (see --help)")
    .strict()
    .help()
    .alias("help", "h")
    .version(VERSION)
    .wrap(HELP_WIDTH)
    .exitProcess(false)
    .fail((message, error) => {
      // Errors thrown by handlers come through here too: pass them on untouched.
      if (error) throw error;
      throw new UsageError(message);
    });
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stdoutIsTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
};

/**
 * Run one command line and return its exit code: 0 ok, 1 a check failed (or the broker/database could
 * not be used), 2 usage or config error. Never calls process.exit.
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const fullIo: CliIo = { ...processIo, ...io };
  const state = { exitCode: 0 };
  const app = buildCli(fullIo, state);
  try {
    await app.parseAsync([...argv], {}, (_error, _argv, output) => {
      // --help and --version text arrives here instead of on the console.
      if (output) fullIo.stdout(`${output}\n`);
    });
    return state.exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      fullIo.stderr(`${error.message}\nRun \`worker-toolbox ${commandPath(argv)}--help\` for usage.\n`);
      return 2;
    }
    const { describeError, isToolboxError } = await import("@worker-toolbox/config");
    fullIo.stderr(`${describeError(error)}\n`);
    if (isToolboxError(error, "CONFIG_INVALID") || isToolboxError(error, "CONFIG_FILE_UNREADABLE")) return 2;
    return 1;
  }
}

/** The command words before the first flag, for the "run --help" hint. */
function commandPath(argv: readonly string[]): string {
  const words: string[] = [];
  for (const word of argv) {
    if (word.startsWith("-")) break;
    words.push(word);
  }
  return words.map((word) => `${word} `).join("");
}
