import type { Argv, CommandModule } from "yargs";
import type { CommandContext } from "../context.js";

/**
 * What a command module builds for its command: options, positionals, examples and subcommands
 * (`builder`), and what the command does (`handler`; a group of subcommands has none). The command's
 * name and description are not here: they are in the command table (./index.ts).
 */
export interface CommandBody {
  builder?: CommandModule["builder"];
  handler?: CommandModule["handler"];
}

/** One row of the command table: what `--help` lists, and how to load the rest on use. */
export interface CommandEntry {
  /** yargs command syntax with positionals, e.g. `"new [name]"` or `"dlq"`. */
  command: string;
  /** The one line `worker-toolbox --help` prints for it. */
  describe: string;
  /** Import the command module and return its factory; called only when the command is used. */
  load: () => Promise<(ctx: CommandContext) => CommandBody>;
}

export type CommandTable = readonly CommandEntry[];

/**
 * A yargs command that imports its module only when yargs runs its builder — that is, when the command
 * was named on the command line (yargs awaits async builders under `parseAsync`). Top-level `--help`
 * never runs a builder, so it costs only the table.
 */
export function lazyCommand(entry: CommandEntry, context: () => Promise<CommandContext>): CommandModule {
  let body: CommandBody | undefined;
  return {
    command: entry.command,
    describe: entry.describe,
    builder: async (yargs: Argv) => {
      const [factory, ctx] = await Promise.all([entry.load(), context()]);
      body = factory(ctx);
      const { builder } = body;
      if (typeof builder === "function") return builder(yargs);
      return builder ? yargs.options(builder) : yargs;
    },
    handler: async (argv) => {
      await body?.handler?.(argv);
    },
  };
}
