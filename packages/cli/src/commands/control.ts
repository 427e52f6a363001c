import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import { loadOpsRuntime } from "../opsRuntime.js";
import { json } from "../output.js";
import type { CommandBody } from "./table.js";

/** What `control` does: Celery's `app.control` commands that change a running worker, and how each reads its words. */
const COMMANDS = {
  pool_grow: (words: string[]) => ({ n: Number(words[0] ?? 1) }),
  pool_shrink: (words: string[]) => ({ n: Number(words[0] ?? 1) }),
  rate_limit: (words: string[]) => ({ task_name: words[0], rate_limit: words[1] }),
  time_limit: (words: string[]) => ({
    task_name: words[0],
    soft: words[1] === undefined ? null : Number(words[1]),
    hard: words[2] === undefined ? null : Number(words[2]),
  }),
  shutdown: () => ({}),
} as const;

type ControlArgs = GlobalOptions & {
  command: keyof typeof COMMANDS;
  args?: (string | number)[];
  destination?: string[];
  timeout: number;
  json: boolean;
};

/**
 * `worker-toolbox control <command>`: Celery's `celery control` for both kinds of worker, through the remote
 * control every worker of the environment answers (docs/interop.md). Exit 1 when no worker replied (but a
 * shutdown, which Celery workers do not answer) or when any replied with an error.
 */
export function controlCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .positional("command", { choices: Object.keys(COMMANDS), describe: "What to tell the workers" })
        .positional("args", {
          type: "string",
          array: true,
          describe:
            "pool_grow/pool_shrink [n]; rate_limit <task> <rate>; time_limit <task> <soft s> [hard s]",
        })
        .option("destination", {
          type: "string",
          array: true,
          requiresArg: true,
          describe: "Only these node names (repeatable); replies come back as soon as all have answered",
        })
        .option("timeout", { type: "number", default: 1_000, describe: "Milliseconds to wait for replies" })
        .option("json", { type: "boolean", default: false, describe: "Print the replies as JSON by node" })
        .example("$0 control pool_grow 2 --destination export-4242@host", "two more handlers on that worker")
        .example("$0 control rate_limit export.render 10/m", "at most 10 renders a minute per worker")
        .example("$0 control shutdown --destination export-4242@host", "stop it as SIGTERM would"),
    handler: (argv) => control(ctx, argv as unknown as ControlArgs),
  };
}

async function control(ctx: CommandContext, argv: ControlArgs): Promise<void> {
  const config = ctx.loadConfig(argv, { uses: ["broker"] });
  const { broadcastCommand, connectOnce } = await loadOpsRuntime();
  const args = COMMANDS[argv.command]((argv.args ?? []).map(String));
  const connection = await connectOnce(config);
  let replies: Record<string, unknown>;
  try {
    replies = await broadcastCommand(connection, config.environment.prefix, argv.command, args, {
      destination: argv.destination,
      timeoutMs: argv.timeout,
    });
  } finally {
    await connection.close().catch(() => undefined);
  }
  const nodes = Object.keys(replies).sort();
  if (argv.json) ctx.print(json(replies));
  else for (const node of nodes) ctx.print(`${node}: ${answer(replies[node])}`);
  const failed = nodes.some((node) => (replies[node] as { error?: unknown } | null)?.error !== undefined);
  if (nodes.length === 0 && argv.command !== "shutdown") {
    ctx.warn(`error: no worker replied within ${argv.timeout} ms`);
    ctx.fail(1);
  } else if (failed) ctx.fail(1);
}

/** `{ok: "..."}` → the text; `{error: "..."}` → `error: ...`. */
function answer(reply: unknown): string {
  const { ok, error } = (reply ?? {}) as { ok?: unknown; error?: unknown };
  if (error !== undefined) return `error: ${String(error)}`;
  return ok !== undefined ? String(ok) : JSON.stringify(reply);
}
