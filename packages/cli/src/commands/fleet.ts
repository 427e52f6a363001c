import { relative } from "node:path";
import type { Argv } from "yargs";
import type { CommandContext } from "../context.js";
import { runGeneratorCommand } from "../generator/commandSupport.js";
import { type FleetEntry, fleet } from "../generator/index.js";
import { table } from "../output.js";
import type { CommandBody } from "./table.js";

interface FleetArgs {
  dirs: string[];
  json: boolean;
}

/** `worker-toolbox fleet <dirs...>`: every service's toolbox and template state, before and after a bump. */
export function fleetCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .positional("dirs", { type: "string", array: true, default: ["."], describe: "Service directories" })
        .option("json", { type: "boolean", default: false, describe: "Print one object per service as JSON" })
        .example("$0 fleet services/*", "the whole fleet against this toolbox's version")
        .example(
          "npm exec --package @worker-toolbox/cli@latest -- worker-toolbox fleet services/*",
          "against the newest published toolbox",
        )
        .epilog(
          "Compares with the version of the running CLI. Exit 0 when every service is current, 1 when one is behind, conflicted, drifted, not installed or has a stale lockfile, 2 when a directory is not a service.",
        ),
    handler: (argv) => {
      const args = argv as unknown as FleetArgs;
      return runGeneratorCommand(ctx, args.json, () => run(ctx, args));
    },
  };
}

const list = (paths: readonly string[]) => (paths.length === 0 ? "-" : paths.join(" "));

function run(ctx: CommandContext, args: FleetArgs): void {
  const entries = fleet(args.dirs.map(String));
  if (args.json) ctx.print(JSON.stringify(entries, null, 2));
  else ctx.print(render(entries));
  for (const entry of entries) if (entry.error) ctx.warn(`${entry.dir}: ${entry.error}`);
  if (entries.some((entry) => entry.error)) ctx.fail(2);
  else if (entries.some((entry) => entry.status.join() !== "current")) ctx.fail(1);
}

function render(entries: readonly FleetEntry[]): string {
  const latest = entries[0]?.toolbox.latest ?? "-";
  const rows = entries.map((entry) => [
    entry.service,
    relative(process.cwd(), entry.dir) || ".",
    entry.toolbox.pinned,
    entry.toolbox.installed,
    entry.template.version,
    entry.lockfile,
    list(entry.drifted),
    list([...entry.conflicted, ...entry.wouldConflict.map((path) => `${path} (on upgrade)`)]),
    entry.status.join(", "),
  ]);
  const header = [
    "service",
    "dir",
    "pinned",
    "installed",
    "template",
    "lockfile",
    "drifted",
    "conflicts",
    "status",
  ];
  return `${table(header, rows)}\n\nCompared with toolbox ${latest} (this CLI).`;
}
