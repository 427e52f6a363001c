import { relative } from "node:path";
import type { Argv, CommandModule } from "yargs";
import type { CommandContext } from "../context.js";
import { reportFailures, runGeneratorCommand } from "../generator/commandSupport.js";
import { checkFailed, type ServiceUpgrade, upgrade } from "../generator/index.js";
import { table } from "../output.js";

interface UpgradeArgs {
  dirs: string[];
  to?: string;
  check: boolean;
  json: boolean;
}

/** `worker-toolbox upgrade [dirs...]`: bump the toolbox and merge template changes into each service. */
export function upgradeCommand(ctx: CommandContext): CommandModule {
  return {
    command: "upgrade [dirs..]",
    describe: "Move services to a toolbox version, three-way merging template changes into their edits",
    builder: (yargs: Argv) =>
      yargs
        .positional("dirs", { type: "string", array: true, default: ["."], describe: "Service directories" })
        .option("to", {
          type: "string",
          requiresArg: true,
          describe: "Toolbox version to move to (default: this toolbox's)",
        })
        .option("check", {
          type: "boolean",
          default: false,
          describe:
            "Write nothing; exit 1 when a service is behind, drifted from its template or would conflict",
        })
        .option("json", { type: "boolean", default: false, describe: "Print the per-service report as JSON" })
        .example("$0 upgrade services/* --to 0.2.0", "upgrade every service in services/")
        .example("$0 upgrade --check", "in a service's CI: fail when it is behind or drifted"),
    handler: (argv) => {
      const args = argv as unknown as UpgradeArgs;
      return runGeneratorCommand(ctx, args.json, () => run(ctx, args));
    },
  };
}

function run(ctx: CommandContext, argv: UpgradeArgs): void {
  const results = upgrade(argv.dirs.map(String), { ...(argv.to ? { to: argv.to } : {}), check: argv.check });
  if (argv.json) {
    ctx.print(
      JSON.stringify(
        results.map((result) => jsonReport(result, argv.check)),
        null,
        2,
      ),
    );
  } else {
    ctx.print(
      table(
        ["service", "dir", "from", "to", "status", "files", "conflicts", "drifted"],
        results.map((result) => [
          result.service,
          relative(process.cwd(), result.dir) || ".",
          result.from.toolbox,
          result.to.toolbox,
          status(result, argv.check),
          String(result.files.filter((file) => file.outcome !== "unchanged").length),
          String(result.conflicts.length),
          String(result.drifted.length),
        ]),
      ),
    );
    for (const result of results) details(ctx, result, argv.check);
  }
  for (const result of results) reportFailures(ctx, result.failures);
  const conflicts = results.some((result) => result.conflicts.length > 0);
  if (argv.check ? checkFailed(results) : conflicts) ctx.fail(1);
}

function status(result: ServiceUpgrade, check: boolean): string {
  if (check) {
    const problems = [
      result.behind && "behind",
      result.drifted.length > 0 && "drifted",
      result.conflicts.length > 0 && "would conflict",
    ];
    return problems.filter(Boolean).join(", ") || "current";
  }
  if (result.conflicts.length > 0) return "conflicts";
  return result.behind ? "upgraded" : "current";
}

function details(ctx: CommandContext, result: ServiceUpgrade, check: boolean): void {
  const lines = [
    ...result.bumped.map((bump) => `  bump      ${bump}`),
    ...result.files
      .filter((file) => file.outcome !== "unchanged")
      .map((file) => `  ${file.outcome.padEnd(10)}${file.path}`),
    ...result.drifted.map(
      (path) => `  drifted   ${path} (differs from the template; list it in "customized" if on purpose)`,
    ),
  ];
  if (lines.length === 0) return;
  ctx.print();
  ctx.print(`${result.service} (${result.dir})${check ? " — nothing written (--check)" : ""}:`);
  for (const line of lines) ctx.print(line);
  if (!check && result.conflicts.length > 0) {
    ctx.print("  Resolve the <<<<<<< yours / >>>>>>> template markers in the files above, then commit.");
  }
}

function jsonReport(result: ServiceUpgrade, check: boolean) {
  const { changes, ...rest } = result;
  return {
    ...rest,
    status: status(result, check),
    written: check ? [] : changes.map(({ path, action }) => ({ path, action })),
  };
}
