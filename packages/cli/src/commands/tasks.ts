import { type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import {
  getTaskDetail,
  parseTaskFilter,
  searchTasks,
  type TaskDetail,
  type TaskSummary,
} from "@worker-toolbox/dashboard";
import type pg from "pg";
import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import { withPool } from "../database.js";
import { branches, formatValue, json, table } from "../output.js";
import type { CommandBody } from "./table.js";

type TaskArgs = GlobalOptions & { id: string; json: boolean };
type TasksArgs = GlobalOptions & {
  task?: string;
  state?: string[];
  failed: boolean;
  since?: string;
  until?: string;
  root?: string;
  group?: string;
  arg?: string;
  limit: number;
  before?: string;
  json: boolean;
};

/**
 * `worker-toolbox task <id>` and `worker-toolbox tasks`: the dashboard's task view and task list in the
 * terminal, through the same queries (@worker-toolbox/dashboard's queries module), so both always agree.
 */
const jsonOption = (inner: Argv) =>
  inner.option("json", { type: "boolean", default: false, describe: "Print JSON instead of text" });

export function taskCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      jsonOption(yargs)
        .positional("id", { type: "string", describe: "Task id" })
        .example("$0 task 5f0c…", "what happened to this task?"),
    handler: (argv) =>
      withPool(ctx, argv as unknown as TaskArgs, (pool, config) =>
        showTask(ctx, pool, config, argv as unknown as TaskArgs),
      ),
  };
}

export function tasksCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      jsonOption(yargs)
        .option("task", {
          type: "string",
          requiresArg: true,
          describe: "Task name; without .vN every version",
        })
        .option("state", {
          type: "string",
          array: true,
          requiresArg: true,
          describe:
            "Only these states (repeatable or comma-separated): PENDING, STARTED, RETRY, SUCCESS, FAILURE…",
        })
        .option("failed", { type: "boolean", default: false, describe: "Same as --state FAILURE" })
        .option("since", {
          type: "string",
          requiresArg: true,
          describe: "Scheduled since: 30m, 1h, 7d or an ISO time",
        })
        .option("until", {
          type: "string",
          requiresArg: true,
          describe: "Scheduled before: a duration back or an ISO time",
        })
        .option("root", { type: "string", requiresArg: true, describe: "Only this family (root task id)" })
        .option("group", {
          type: "string",
          requiresArg: true,
          describe: "Only the members of this group (group id)",
        })
        .option("arg", {
          type: "string",
          requiresArg: true,
          describe: "A value anywhere in args/kwargs (invoice-7, 42) or key=value for a kwarg",
        })
        .option("limit", { type: "number", default: 50, describe: "Rows per page (at most 500)" })
        .option("before", {
          type: "string",
          requiresArg: true,
          describe: "The `next` cursor of a previous page",
        })
        .example("$0 tasks --failed --since 1h", "what failed in the last hour?")
        .example("$0 tasks --arg invoice-7 --json", "every task about invoice 7, for a script"),
    handler: (argv) =>
      withPool(ctx, argv as unknown as TasksArgs, (pool, config) =>
        listTasks(ctx, pool, config, argv as unknown as TasksArgs),
      ),
  };
}

async function showTask(
  ctx: CommandContext,
  pool: pg.Pool,
  config: ToolboxConfig,
  argv: TaskArgs,
): Promise<void> {
  const task = await getTaskDetail(pool, config.database.schema, argv.id);
  if (task.unknown) ctx.fail(1);
  if (argv.json) {
    ctx.print(json(task));
    return;
  }
  if (task.unknown) {
    ctx.warn(`No task ${argv.id}: no tracking row and no result in schema "${config.database.schema}".`);
    return;
  }
  ctx.print(taskText(task));
}

function taskText(task: TaskDetail): string {
  const lines = [
    `${task.name ?? "?"}  ${task.status}`,
    `id        ${task.taskId}`,
    `root      ${task.rootId}${task.parentId ? `  parent ${task.parentId}` : ""}`,
    `trace id  ${task.traceId ?? "-"}`,
    `group     ${groupText(task)}`,
    `args      ${formatValue(task.tracking?.args ?? [])}`,
    `kwargs    ${formatValue(task.tracking?.kwargs ?? {})}`,
    `tracking  ${formatValue(task.tracking?.tracking ?? {})}`,
    `worker    ${task.result?.worker ?? "-"}`,
  ];
  const result = task.result;
  if (result?.status === "SUCCESS") lines.push(`result    ${formatValue(result.value)}`);
  if (result?.error) lines.push(`error     ${result.error.type}: ${result.error.message}`);
  if (result?.traceback) lines.push("", result.traceback.trimEnd());
  if (task.states.length > 0) {
    lines.push(
      "",
      table(
        ["at", "state", "retries", "details"],
        task.states.map((state) => [
          state.at.toISOString(),
          state.status,
          state.retries === null ? "-" : String(state.retries),
          state.error
            ? `${state.error.type ?? "Error"}: ${state.error.message ?? ""}`
            : state.meta !== null && state.meta !== undefined
              ? JSON.stringify(state.meta)
              : "",
        ]),
      ),
    );
  }
  if (task.family.length > 1) {
    lines.push("", "family:");
    for (const [prefix, member] of branches(task.family)) {
      const here = member.taskId === task.taskId ? "  ← this task" : "";
      lines.push(`${prefix}${member.name ?? "?"} ${member.status} ${member.taskId}${here}`);
    }
  }
  return lines.join("\n");
}

async function listTasks(
  ctx: CommandContext,
  pool: pg.Pool,
  config: ToolboxConfig,
  argv: TasksArgs,
): Promise<void> {
  if (!Number.isInteger(argv.limit) || argv.limit < 1 || argv.limit > 500) {
    throw new ToolboxError("CONFIG_INVALID", `--limit ${argv.limit} is not a whole number from 1 to 500.`);
  }
  const filter = parseTaskFilter({
    service: argv.service?.[0],
    task: argv.task,
    state: [...(argv.state ?? []), ...(argv.failed ? ["FAILURE"] : [])],
    since: argv.since,
    until: argv.until,
    root: argv.root,
    group: argv.group,
    arg: argv.arg,
  });
  const page = await searchTasks(pool, config.database.schema, filter, {
    limit: argv.limit,
    ...(argv.before ? { before: argv.before } : {}),
  });
  if (argv.json) {
    ctx.print(json(page));
    return;
  }
  if (page.tasks.length === 0) {
    ctx.print("No task matches.");
    return;
  }
  ctx.print(taskTable(page.tasks));
  if (page.next) ctx.print(`\nOlder tasks: add --before ${page.next}`);
}

function taskTable(tasks: readonly TaskSummary[]): string {
  return table(
    ["scheduled", "state", "task", "id", "args / error"],
    tasks.map((task) => [
      task.createdAt.toISOString().slice(0, 19).replace("T", " "),
      task.status,
      task.name,
      task.taskId,
      oneLine(task.errorType ? `${task.errorType}: ${task.errorMessage ?? ""}` : formatValue(task.args)),
    ]),
  );
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 70 ? `${line.slice(0, 69)}…` : line;
}

/** `<group id> #<index>`, or `-` for a task outside any group. */
function groupText(task: TaskDetail): string {
  const groupId = task.tracking?.groupId;
  if (!groupId) return "-";
  const index = task.tracking?.groupIndex;
  return index === null || index === undefined ? groupId : `${groupId} #${index}`;
}
