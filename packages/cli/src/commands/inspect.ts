import type { Argv } from "yargs";
import type { CommandContext } from "../context.js";
import { json } from "../output.js";
import { type AskArgs, askOptions, askWorkers } from "./askWorkers.js";
import type { CommandBody } from "./table.js";

/** What `inspect` asks: Celery's `app.control.inspect()` methods a toolbox or Celery worker answers. */
const WHAT = [
  "ping",
  "active",
  "reserved",
  "scheduled",
  "registered",
  "revoked",
  "active_queues",
  "stats",
  "query_task",
] as const;

type InspectArgs = AskArgs & { what: (typeof WHAT)[number]; ids?: string[] };

/**
 * `worker-toolbox inspect <what>`: Celery's `celery inspect` for both kinds of worker, through the remote
 * control every worker of the environment answers (docs/interop.md). Exit 1 when no worker replied.
 */
export function inspectCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      askOptions(
        yargs
          .positional("what", { choices: WHAT, describe: "What to ask every worker" })
          .positional("ids", { type: "string", array: true, describe: "Task ids (query_task)" }),
      )
        .example("$0 inspect ping", "which workers are alive?")
        .example("$0 inspect active --destination export-4242@host", "what is this worker running?"),
    handler: (argv) => inspect(ctx, argv as unknown as InspectArgs),
  };
}

async function inspect(ctx: CommandContext, argv: InspectArgs): Promise<void> {
  const args = argv.what === "query_task" ? { ids: argv.ids ?? [] } : {};
  const replies = await askWorkers(ctx, argv, argv.what, args);
  const nodes = Object.keys(replies).sort();
  if (argv.json) ctx.print(json(replies));
  else for (const node of nodes) ctx.print(describe(node, argv.what, replies[node]));
  if (nodes.length === 0) {
    ctx.warn(`error: no worker replied within ${argv.timeout} ms`);
    ctx.fail(1);
  }
}

/** One node's reply as text: a line for ping, a task per line for active/reserved/scheduled, JSON otherwise. */
function describe(node: string, what: InspectArgs["what"], reply: unknown): string {
  if (what === "ping") return `${node}: ${JSON.stringify(reply)}`;
  if ((what === "active" || what === "reserved") && Array.isArray(reply)) {
    const tasks = reply as { id: string; name: string; args: unknown; time_start: number | null }[];
    const lines = tasks.map(
      (task) =>
        `  ${task.id} ${task.name} ${JSON.stringify(task.args)}` +
        (task.time_start ? ` started ${new Date(task.time_start * 1_000).toISOString()}` : ""),
    );
    return [`${node}: ${tasks.length} ${what}`, ...lines].join("\n");
  }
  if (what === "scheduled" && Array.isArray(reply)) {
    const entries = reply as { eta: string | null; request: { id: string; name: string; args: unknown } }[];
    const lines = entries.map(
      ({ eta, request }) => `  ${request.id} ${request.name} ${JSON.stringify(request.args)} eta ${eta}`,
    );
    return [`${node}: ${entries.length} scheduled`, ...lines].join("\n");
  }
  if (what === "registered" && Array.isArray(reply)) return `${node}: ${reply.join(", ")}`;
  return `${node}: ${JSON.stringify(reply, null, 2)}`;
}
