import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";
import type { Argv } from "yargs";
import type { CommandContext } from "../context.js";
import {
  canPrompt,
  changeLines,
  reportFailures,
  runGeneratorCommand,
  shellPath,
} from "../generator/commandSupport.js";
import {
  type Answers,
  generate,
  serviceNameProblem,
  taskPartProblem,
  textProblem,
  toolboxVersion,
} from "../generator/index.js";
import { terminalQuestions } from "../prompts.js";
import type { CommandBody } from "./table.js";

interface NewArgs {
  name?: string;
  task?: string;
  description?: string;
  packageManager: "npm";
  toolboxVersion?: string;
  toolboxPath?: string;
  dir?: string;
  dryRun: boolean;
  json: boolean;
  force: boolean;
}

const DEFAULT_TASK = "process";

/** `worker-toolbox new <name>`: scaffold a worker service that is wired right from the first commit. */
export function newCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .positional("name", {
          type: "string",
          describe: "Service name, lower kebab-case (asked on a terminal when left out)",
        })
        .option("task", {
          type: "string",
          requiresArg: true,
          describe: `First task, the part after "<name>." (default: ${DEFAULT_TASK})`,
        })
        .option("description", {
          type: "string",
          requiresArg: true,
          describe: "One line saying what the service does",
        })
        .option("package-manager", {
          choices: ["npm"] as const,
          default: "npm" as const,
          describe: "Package manager of the service",
        })
        .option("toolbox-version", {
          type: "string",
          requiresArg: true,
          describe: "Toolbox version to pin (default: this toolbox's)",
        })
        .option("toolbox-path", {
          type: "string",
          requiresArg: true,
          describe: "Link a local toolbox checkout (file: dependencies) instead",
        })
        .conflicts("toolbox-version", "toolbox-path")
        .option("dir", {
          type: "string",
          requiresArg: true,
          describe: "Target directory (default: ./<name>)",
        })
        .option("dry-run", {
          type: "boolean",
          default: false,
          describe: "Show the files that would be written; write nothing",
        })
        .option("json", {
          type: "boolean",
          default: false,
          describe: "Print the result as JSON (never prompts)",
        })
        .option("force", {
          type: "boolean",
          default: false,
          describe: "Write into a non-empty directory, overwriting template files",
        })
        .example("$0 new order-export --task export_orders", "create ./order-export")
        .example("$0 new billing --dry-run", "list the files without writing them"),
    handler: (argv) =>
      runGeneratorCommand(ctx, (argv as unknown as NewArgs).json, () => run(ctx, argv as unknown as NewArgs)),
  };
}

async function run(ctx: CommandContext, argv: NewArgs): Promise<void> {
  const answers = await collectAnswers(ctx, argv);
  const targetDir = resolve(argv.dir ?? answers.service);
  const result = generate({ answers, targetDir, dryRun: argv.dryRun, force: argv.force });
  const cd = shellPath(result.targetDir);
  const next = [`cd ${cd}`, "npm install", "npm test", "npm run dev"];

  if (argv.json) {
    ctx.print(
      JSON.stringify(
        {
          targetDir: result.targetDir,
          dryRun: argv.dryRun,
          changes: result.changes.map(({ path, action }) => ({ path, action })),
          failures: result.failures,
          manifest: result.manifest,
          next,
        },
        null,
        2,
      ),
    );
  } else {
    ctx.print(`${argv.dryRun ? "Would create" : "Created"} ${answers.service} in ${result.targetDir}:`);
    for (const line of changeLines(result.changes, argv.dryRun)) ctx.print(line);
    if (!argv.dryRun && result.failures.length === 0) {
      ctx.print();
      ctx.print("Next:");
      for (const command of next) ctx.print(`  ${command}`);
      ctx.print();
      ctx.print(`npm install: ${toolboxSource(answers, ctx.io.env)}.`);
      ctx.print(
        "npm test: unit tests and the conformance suite, against AMQP_URL / DATABASE_URL when set, else throwaway local servers (needs rabbitmq-server and postgresql installed).",
      );
      ctx.print(
        "npm run dev: the worker on a local RabbitMQ and PostgreSQL (started once, then reused), restarting on change.",
      );
      ctx.print(
        "On servers of your own (AMQP_URL, DATABASE_URL): npx worker-toolbox db migrate once per database, then npm start (builds, then runs).",
      );
    }
  }
  reportFailures(ctx, result.failures);
}

/** Flags first; what is missing is asked on a terminal, else the default (or a usage error for the name). */
async function collectAnswers(ctx: CommandContext, argv: NewArgs): Promise<Answers> {
  const prompt = canPrompt(ctx, argv.json) ? terminalQuestions() : undefined;
  if (prompt) {
    const pinned = {
      toolboxVersion: argv.toolboxVersion,
      toolboxPath: argv.toolboxPath && resolve(argv.toolboxPath),
    };
    ctx.print(`Toolbox: ${toolboxSource(pinned, ctx.io.env)}`);
    ctx.print("  (--toolbox-version <v> pins another version, --toolbox-path <dir> links a local checkout)");
  }
  try {
    const ask = async (question: string, fallback: string, problem: (value: string) => string | null) => {
      if (!prompt) return fallback;
      for (;;) {
        const value =
          (await prompt.question(`${question}${fallback ? ` (${fallback})` : ""}: `)).trim() || fallback;
        const why = problem(value);
        if (!why) return value;
        ctx.print(`  ${JSON.stringify(value)}: ${why}`);
      }
    };
    const service = argv.name ?? (await ask("Service name (lower kebab-case)", "", serviceNameProblem));
    if (!service) {
      throw new ToolboxError("GENERATOR_INVALID_INPUT", "No service name given.", {
        hint: "run `worker-toolbox new <name>`, e.g. `worker-toolbox new order-export`; nothing was written",
      });
    }
    const task =
      argv.task ??
      (await ask(`First task (${service}.<task>)`, DEFAULT_TASK, (value) => taskPartProblem(service, value)));
    const description =
      argv.description ?? (await ask("Description (one line)", `Worker service ${service}.`, textProblem));
    return {
      service,
      task,
      description,
      packageManager: argv.packageManager,
      ...(argv.toolboxVersion ? { toolboxVersion: argv.toolboxVersion } : {}),
      ...(argv.toolboxPath ? { toolboxPath: checkout(argv.toolboxPath) } : {}),
    };
  } finally {
    prompt?.close();
  }
}

/** Where `npm install` takes the toolbox from, in words: the pinned version and the registry, or the checkout. */
function toolboxSource(
  answers: { toolboxVersion?: string | undefined; toolboxPath?: string | undefined },
  env: Record<string, string | undefined>,
): string {
  if (answers.toolboxPath)
    return `@worker-toolbox/* linked from the checkout ${answers.toolboxPath} (file: dependencies)`;
  const version = answers.toolboxVersion ?? toolboxVersion();
  // npm exec/npx pass the registry they use to the command they run.
  const registry = env.npm_config_registry
    ? `the registry npm uses here, ${env.npm_config_registry}`
    : "the registry your npm is configured with (npm config get registry)";
  return `@worker-toolbox/* ${version}, pinned exactly, from ${registry}`;
}

/** An absolute toolbox checkout path that really holds the packages to link. */
function checkout(path: string): string {
  const absolute = resolve(path);
  if (!existsSync(join(absolute, "packages", "config", "package.json"))) {
    throw new ToolboxError(
      "GENERATOR_INVALID_INPUT",
      `--toolbox-path ${path}: no packages/config/package.json in ${absolute}.`,
      {
        hint: "point it at the root of a Worker Toolbox checkout (where packages/ is) and run `npm run build` there",
      },
    );
  }
  return absolute;
}
