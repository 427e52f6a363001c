import { resolve } from "node:path";
import type { Argv } from "yargs";
import type { CommandContext } from "../context.js";
import { changeLines, reportFailures, runGeneratorCommand } from "../generator/commandSupport.js";
import { addTask } from "../generator/index.js";
import type { CommandBody } from "./table.js";

interface AddTaskArgs {
  name: string;
  dir: string;
  dryRun: boolean;
  json: boolean;
}

/** `worker-toolbox add task <name>`: a contract, handler and unit test, registered in the task list. */
export function addCommands(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "task <name>",
          describe: "Add a task: contract, handler and unit test, registered in src/tasks/index.ts",
          builder: (inner: Argv) =>
            inner
              .positional("name", {
                type: "string",
                demandOption: true,
                describe: 'The part after "<service>.", e.g. send_invoice',
              })
              .option("dir", {
                type: "string",
                default: ".",
                requiresArg: true,
                describe: "The service directory",
              })
              .option("dry-run", {
                type: "boolean",
                default: false,
                describe: "Show the changes; write nothing",
              })
              .option("json", { type: "boolean", default: false, describe: "Print the result as JSON" })
              .example("$0 add task send_invoice", "add <service>.send_invoice to the service here"),
          handler: (argv) => {
            const args = argv as unknown as AddTaskArgs;
            return runGeneratorCommand(ctx, args.json, () => run(ctx, args));
          },
        })
        .demandCommand(1, "name what to add (see --help)"),
  };
}

function run(ctx: CommandContext, argv: AddTaskArgs): void {
  const result = addTask({ serviceDir: resolve(argv.dir), task: String(argv.name), dryRun: argv.dryRun });
  if (argv.json) {
    const changes = result.changes.map(({ path, action }) => ({ path, action }));
    ctx.print(
      JSON.stringify(
        { task: result.taskName, dryRun: argv.dryRun, changes, failures: result.failures },
        null,
        2,
      ),
    );
  } else {
    ctx.print(`${argv.dryRun ? "Would add" : "Added"} task ${result.taskName}:`);
    for (const line of changeLines(result.changes, argv.dryRun)) ctx.print(line);
    if (!argv.dryRun && result.failures.length === 0) {
      ctx.print();
      ctx.print("Next: define its arguments and result in the contract, write the handler, then `npm test`.");
    }
  }
  reportFailures(ctx, result.failures);
}
