import type { Argv } from "yargs";
import type { CommandContext } from "../context.js";
import { json } from "../output.js";
import { type AskArgs, askOptions, askWorkers } from "./askWorkers.js";
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
  // Celery's `celery control add_consumer <queue> [exchange [type [routing_key]]]`: a worker-toolbox worker
  // takes the queue alone (it never declares), a Celery worker the rest too.
  add_consumer: (words: string[]) => ({
    queue: words[0],
    exchange: words[1] ?? null,
    exchange_type: words[2] ?? "direct",
    routing_key: words[3] ?? null,
  }),
  cancel_consumer: (words: string[]) => ({ queue: words[0] }),
  pool_restart: () => ({}),
} as const;

type ControlArgs = AskArgs & { command: keyof typeof COMMANDS; args?: (string | number)[] };

/**
 * `worker-toolbox control <command>`: Celery's `celery control` for both kinds of worker, through the remote
 * control every worker of the environment answers (docs/interop.md). Exit 1 when no worker replied (but a
 * shutdown, which Celery workers do not answer) or when any replied with an error.
 */
export function controlCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      askOptions(
        yargs
          .positional("command", { choices: Object.keys(COMMANDS), describe: "What to tell the workers" })
          .positional("args", {
            type: "string",
            array: true,
            describe:
              "pool_grow/pool_shrink [n]; rate_limit <task> <rate>; time_limit <task> <soft s> [hard s]; " +
              "add_consumer <queue>; cancel_consumer <queue>",
          }),
      )
        .example("$0 control pool_grow 2 --destination export-4242@host", "two more handlers on that worker")
        .example("$0 control rate_limit export.render 10/m", "at most 10 renders a minute per worker")
        .example("$0 control shutdown --destination export-4242@host", "stop it as SIGTERM would")
        .example("$0 control add_consumer legacy-exports", "every worker also consumes that (existing) queue")
        .example("$0 control cancel_consumer legacy-exports", "and stops again; what it holds still runs"),
    handler: (argv) => control(ctx, argv as unknown as ControlArgs),
  };
}

async function control(ctx: CommandContext, argv: ControlArgs): Promise<void> {
  const args = COMMANDS[argv.command]((argv.args ?? []).map(String));
  const replies = await askWorkers(ctx, argv, argv.command, args);
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
