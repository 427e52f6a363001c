import { relative } from "node:path";
import { ToolboxError } from "@worker-toolbox/config";
import type { Argv } from "yargs";
import type { CommandContext } from "../context.js";
import { reportFailures, runGeneratorCommand } from "../generator/commandSupport.js";
import {
  checkFailed,
  installAndTest,
  type ServiceSteps,
  type ServiceUpgrade,
  stepsPassed,
  toolboxVersion,
  upgrade,
  versionProblem,
} from "../generator/index.js";
import { table } from "../output.js";
import { delegateToVersion, HANDOFF_MARKER, handOffRefusal } from "./delegate.js";
import type { CommandBody } from "./table.js";

interface UpgradeArgs {
  dirs: string[];
  to?: string;
  check: boolean;
  json: boolean;
  install: boolean;
  test: boolean;
}

type Report = ServiceUpgrade & { steps?: ServiceSteps };

/** `worker-toolbox upgrade [dirs...]`: bump the toolbox and merge template changes into each service. */
export function upgradeCommand(ctx: CommandContext): CommandBody {
  return {
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
        .option("install", {
          type: "boolean",
          default: false,
          describe: "Run `npm install` in each upgraded service (updates its lockfile)",
        })
        .option("test", {
          type: "boolean",
          default: false,
          describe:
            "Run `npm test` in each upgraded service (after --install); one failure never stops the rest",
        })
        .example("$0 upgrade services/* --to 0.2.0", "upgrade every service in services/")
        .example(
          "$0 upgrade services/* --to 0.2.0 --install --test",
          "upgrade, install and test each service",
        )
        .example("$0 upgrade --check", "in a service's CI: fail when it is behind or drifted")
        .epilog(
          "--to another version than this CLI's runs that version's CLI (npm exec) and passes its exit code through. Exit 0 when every service was upgraded (--check: is current); 1 when one is left in conflict, an install or test failed, a file could not be written (--check: one is behind, conflicted, drifted or would conflict); 2 for invalid input, a directory that is not a service, or a refused hand-off (WORKER_TOOLBOX_DELEGATED set: unset it).",
        ),
    handler: (argv) => {
      const args = argv as unknown as UpgradeArgs;
      // The template and the pins move together: another version's upgrade is that version's CLI.
      const other = args.to && !versionProblem(args.to) && args.to !== toolboxVersion();
      if (!other) return runGeneratorCommand(ctx, args.json, () => run(ctx, args));
      const refused = handOffRefusal(ctx.io.env, "upgrade", args.to as string, toolboxVersion());
      if (refused) {
        return runGeneratorCommand(ctx, args.json, () => {
          throw refused;
        });
      }
      return delegateToVersion(ctx, args.to as string, ["upgrade", ...upgradeFlags(args)]);
    },
  };
}

/** The command line again, for the CLI of the target version. */
function upgradeFlags(args: UpgradeArgs): string[] {
  const flags = [...args.dirs.map(String), "--to", String(args.to)];
  for (const flag of ["check", "json", "install", "test"] as const) if (args[flag]) flags.push(`--${flag}`);
  return flags;
}

async function run(ctx: CommandContext, argv: UpgradeArgs): Promise<void> {
  if (argv.check && (argv.install || argv.test)) {
    throw new ToolboxError(
      "GENERATOR_INVALID_INPUT",
      "--check writes nothing, so there is nothing to install or test.",
      {
        hint: "drop --install/--test, or drop --check to upgrade, install and test",
      },
    );
  }
  const results: Report[] = upgrade(argv.dirs.map(String), {
    ...(argv.to ? { to: argv.to } : {}),
    check: argv.check,
  });
  if (argv.install || argv.test) await runSteps(ctx, results, argv);
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
        ["service", "dir", "from", "to", "status", "files", "conflicts", "drifted", ...stepHeaders(argv)],
        results.map((result) => [
          result.service,
          relative(process.cwd(), result.dir) || ".",
          result.from.toolbox,
          result.to.toolbox,
          status(result, argv.check),
          String(result.files.filter((file) => file.outcome !== "unchanged").length),
          String(result.conflicts.length),
          String(result.drifted.length),
          ...stepCells(result.steps, argv),
        ]),
      ),
    );
    for (const result of results) details(ctx, result, argv.check);
  }
  for (const result of results) reportFailures(ctx, result.failures);
  const conflicts = results.some((result) => result.conflicts.length > 0);
  const stepsFailed = results.some((result) => !stepsPassed(result.steps));
  if (argv.check ? checkFailed(results) : conflicts || stepsFailed) ctx.fail(1);
}

/** Install and test each service in turn; a service in conflict is skipped, a failure stops only its own steps. */
async function runSteps(ctx: CommandContext, results: Report[], argv: UpgradeArgs): Promise<void> {
  for (const [index, result] of results.entries()) {
    if (result.failures.length > 0 || result.conflicts.length > 0) {
      result.steps = { skipped: "resolve the conflicts (or write errors) first" };
      continue;
    }
    // The hand-off's marker is this CLI's, never the service's install or tests'.
    const { [HANDOFF_MARKER]: _marker, ...env } = { ...process.env, ...ctx.io.env };
    result.steps = await installAndTest(result.dir, { install: argv.install, test: argv.test, env }, (step) =>
      ctx.warn(`[${index + 1}/${results.length}] ${result.service}: ${step}`),
    );
  }
}

function stepHeaders(argv: UpgradeArgs): string[] {
  return [...(argv.install ? ["install"] : []), ...(argv.test ? ["test"] : [])];
}

function stepCells(steps: ServiceSteps | undefined, argv: UpgradeArgs): string[] {
  const cell = (step: ServiceSteps["install"]) =>
    steps?.skipped
      ? "skipped"
      : !step
        ? "-"
        : step.code === 0
          ? `ok ${step.seconds}s`
          : `FAILED (exit ${step.code})`;
  return [...(argv.install ? [cell(steps?.install)] : []), ...(argv.test ? [cell(steps?.test)] : [])];
}

function status(result: ServiceUpgrade, check: boolean): string {
  const fresh = result.conflicts.filter((path) => !result.unresolved.includes(path));
  if (check) {
    const problems = [
      result.behind && "behind",
      result.unresolved.length > 0 && "conflicted",
      result.drifted.length > 0 && "drifted",
      fresh.length > 0 && "would conflict",
    ];
    return problems.filter(Boolean).join(", ") || "current";
  }
  if (result.conflicts.length > 0) return "conflicts";
  return result.behind ? "upgraded" : "current";
}

function details(ctx: CommandContext, result: Report, check: boolean): void {
  const lines = [
    ...result.bumped.map((bump) => `  bump      ${bump}`),
    ...result.files
      .filter((file) => file.outcome !== "unchanged")
      .map((file) => `  ${file.outcome.padEnd(10)}${file.path}`),
    ...result.drifted.map(
      (path) => `  drifted   ${path} (differs from the template; list it in "customized" if on purpose)`,
    ),
  ];
  const failedSteps = [result.steps?.install, result.steps?.test].filter((step) => step && step.code !== 0);
  if (lines.length === 0 && failedSteps.length === 0) return;
  ctx.print();
  ctx.print(`${result.service} (${result.dir})${check ? " — nothing written (--check)" : ""}:`);
  for (const line of lines) ctx.print(line);
  if (result.conflicts.length > 0) {
    ctx.print("  Resolve the <<<<<<< yours / >>>>>>> template markers in the files above, then commit.");
  }
  for (const step of failedSteps) {
    if (step) ctx.print(`  ${step.command} failed (exit ${step.code}):\n${indent(step.tail)}`);
  }
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");

function jsonReport(result: Report, check: boolean) {
  const { changes, ...rest } = result;
  return {
    ...rest,
    status: status(result, check),
    written: check ? [] : changes.map(({ path, action }) => ({ path, action })),
  };
}
