import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type AnyTaskContract,
  defineTask,
  parseTaskName,
  ToolboxError,
  validateCall,
} from "@worker-toolbox/config";
import { createProducer, waitForResult } from "@worker-toolbox/runtime";
import { createDatabasePool } from "@worker-toolbox/runtime/results";
import { pino } from "pino";
import type { Argv } from "yargs";
import { z } from "zod";
import type { CommandContext, GlobalOptions } from "../context.js";
import { formatValue, json } from "../output.js";
import type { CommandBody } from "./table.js";

type SendArgs = GlobalOptions & {
  task: string;
  args?: (string | number)[];
  kwargs?: string;
  contracts?: string;
  id?: string;
  countdown?: number;
  wait?: number;
  json: boolean;
};

/** `worker-toolbox send <task> [args..]`: publish one task, confirmed by the broker; optionally wait for it. */
export function sendCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .positional("task", { type: "string", describe: "Task name, e.g. export.project.v2" })
        .positional("args", {
          type: "string",
          array: true,
          describe: "Positional arguments; each is read as JSON when it parses (42, true, {…}), else as text",
        })
        .option("kwargs", {
          type: "string",
          requiresArg: true,
          describe: "Keyword arguments as a JSON object",
        })
        .option("contracts", {
          type: "string",
          requiresArg: true,
          describe:
            "A module exporting the service's task contracts (e.g. dist/tasks/index.js): the call is validated",
        })
        .option("id", { type: "string", requiresArg: true, describe: "Task id to use (default: a new UUID)" })
        .option("countdown", {
          type: "number",
          requiresArg: true,
          describe: "Run no earlier than this many seconds",
        })
        .option("wait", {
          type: "number",
          requiresArg: true,
          describe: "Wait up to this many seconds for the outcome; exit 1 unless it is SUCCESS",
        })
        .option("json", { type: "boolean", default: false, describe: "Print JSON instead of text" })
        .parserConfiguration({ "parse-positional-numbers": false })
        .example('$0 send export.render.v1 invoice-7 --kwargs \'{"format":"pdf"}\'', "one raw send")
        .example(
          "$0 send export.render.v1 invoice-7 --contracts dist/tasks/index.js --wait 30",
          "validated, and wait",
        ),
    handler: (argv) => send(ctx, argv as unknown as SendArgs),
  };
}

async function send(ctx: CommandContext, argv: SendArgs): Promise<void> {
  // The database only with --wait (to read the outcome).
  const uses = argv.wait === undefined ? (["broker"] as const) : (["broker", "database"] as const);
  const config = ctx.loadConfig({ ...argv, service: undefined }, { uses });
  parseTaskName(argv.task);
  const args = (argv.args ?? []).map((value) => parseValue(String(value)));
  const kwargs = parseKwargs(argv.kwargs);
  const contract = argv.contracts
    ? await importedContract(argv.contracts, argv.task)
    : rawContract(argv.task);
  // A bad call fails here, before any connection is made.
  validateCall(contract, args, kwargs);
  const logger = pino({ level: "warn" }, { write: (line: string) => ctx.io.stderr(line) });
  const producer = createProducer({ config, contracts: [contract], logger, name: "worker-toolbox send" });
  let receipt: Awaited<ReturnType<typeof producer.send>>;
  try {
    receipt = await producer.sendByName(argv.task, args, kwargs, {
      ...(argv.id ? { id: argv.id } : {}),
      ...(argv.countdown ? { countdownMs: argv.countdown * 1_000 } : {}),
      tracking: { requestedBy: "worker-toolbox send" },
    });
  } finally {
    await producer.close();
  }
  if (argv.wait === undefined) {
    ctx.print(argv.json ? json(receipt) : receipt.id);
    return;
  }
  const pool = createDatabasePool(config, { max: 2 });
  try {
    const task = await waitForResult(pool, config.database.schema, receipt.id, {
      timeoutMs: argv.wait * 1_000,
    });
    if (task.status !== "SUCCESS") ctx.fail(1);
    if (argv.json) ctx.print(json({ ...receipt, status: task.status, result: task.result }));
    else {
      ctx.print(`${receipt.id} ${task.status}`);
      if (task.status === "SUCCESS") ctx.print(formatValue(task.result?.value));
      else if (task.result?.error) ctx.print(`${task.result.error.type}: ${task.result.error.message}`);
    }
  } finally {
    await pool.end();
  }
}

/** `42` → 42, `true` → true, `{"a":1}` → the object, `invoice-7` → the text itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseKwargs(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  const parsed = parseValue(text);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ToolboxError("CONFIG_INVALID", `--kwargs ${text} is not a JSON object.`, {
      hint: `write it like --kwargs '{"format": "pdf"}'`,
    });
  }
  return parsed as Record<string, unknown>;
}

/** Without contracts: any JSON arguments, checked only for the task name's shape. */
function rawContract(name: string): AnyTaskContract {
  return defineTask({
    name,
    args: z.array(z.unknown()),
    kwargs: z.record(z.string(), z.unknown()),
    result: z.unknown(),
  });
}

async function importedContract(module: string, name: string): Promise<AnyTaskContract> {
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>;
  } catch (cause) {
    throw new ToolboxError(
      "CONFIG_INVALID",
      `--contracts ${module} could not be imported: ${(cause as Error).message}`,
      {
        cause,
        hint: "point it at the built module that exports the service's contracts, e.g. dist/tasks/index.js",
      },
    );
  }
  const contracts = Object.values(exports).filter(isContract);
  const found = contracts.find((contract) => contract.name === name);
  if (!found) {
    throw new ToolboxError("TASK_UNKNOWN", `${module} exports no contract named ${name}.`, {
      hint: `it exports ${contracts.map((contract) => contract.name).join(", ") || "no contract at all"}`,
    });
  }
  return found;
}

function isContract(value: unknown): value is AnyTaskContract {
  const candidate = value as Partial<AnyTaskContract> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.name === "string" &&
    typeof candidate.args?.safeParse === "function" &&
    typeof candidate.result?.safeParse === "function"
  );
}
