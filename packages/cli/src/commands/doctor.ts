import { isToolboxError } from "@worker-toolbox/config";
import type { DoctorCheck, DoctorReport } from "@worker-toolbox/runtime/ops";
import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import { json, table } from "../output.js";
import type { CommandBody } from "./table.js";

type DoctorArgs = GlobalOptions & {
  json: boolean;
  database: boolean;
  upgrade: boolean;
  workerRole?: string;
  trackerRole?: string;
};

/** `worker-toolbox doctor`: one table of everything that must hold for the services to work. */
export function doctorCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .option("json", { type: "boolean", default: false, describe: "Print JSON instead of a table" })
        .option("upgrade", {
          type: "boolean",
          default: false,
          describe: "Fail (exit 1) when the broker is not ready for RabbitMQ 4.x, instead of warning",
        })
        .option("database", {
          type: "boolean",
          default: true,
          describe: "Check the result database (--no-database for producer-only setups)",
        })
        .option("worker-role", {
          type: "string",
          requiresArg: true,
          describe:
            "Check this role's grants as the workers' (default: the role of DATABASE_URL, or worker_toolbox_worker " +
            "when that is a superuser)",
        })
        .option("tracker-role", {
          type: "string",
          requiresArg: true,
          describe:
            "Check this role's grants as the tracker's (default worker_toolbox_tracker, as a superuser)",
        })
        .example("$0 doctor --service export --service billing", "check two services")
        .example("$0 doctor --json", "every service found on the broker, as JSON")
        .example("$0 doctor --upgrade", "gate a RabbitMQ 4.x upgrade on what it would break"),
    handler: (argv) => doctor(ctx, argv as unknown as DoctorArgs),
  };
}

async function doctor(ctx: CommandContext, argv: DoctorArgs): Promise<void> {
  let report: DoctorReport;
  try {
    // Without the database check this is a producer's view: DATABASE_URL is not needed.
    const config = ctx.loadConfig(argv, { uses: argv.database ? ["broker", "database"] : ["broker"] });
    // Imported on use, so `doctor --help` does not load the runtime (see commands/index.ts).
    const { runDoctor } = await import("@worker-toolbox/runtime/ops");
    report = await runDoctor({
      config,
      ...(argv.service && argv.service.length > 0 ? { services: argv.service } : {}),
      database: argv.database,
      upgrade: argv.upgrade,
      roles: {
        ...(argv.workerRole ? { workerRole: argv.workerRole } : {}),
        ...(argv.trackerRole ? { trackerRole: argv.trackerRole } : {}),
      },
    });
  } catch (error) {
    if (!isToolboxError(error, "CONFIG_INVALID") && !isToolboxError(error, "CONFIG_FILE_UNREADABLE"))
      throw error;
    // An invalid config is still reported as the first check, then exit 2 (usage/config error).
    report = {
      ok: false,
      prefix: argv.envPrefix ?? "",
      services: argv.service ?? [],
      checks: [{ id: "config", status: "fail", detail: error.message }],
    };
    print(ctx, report, argv.json);
    ctx.fail(2);
    return;
  }
  print(ctx, report, argv.json);
  if (!report.ok) ctx.fail(1);
}

const LABEL: Record<DoctorCheck["status"], string> = { ok: "ok", warn: "WARN", fail: "FAIL", skip: "skip" };

function print(ctx: CommandContext, report: DoctorReport, asJson: boolean): void {
  if (asJson) {
    ctx.print(json(report));
    return;
  }
  const services = report.services.length > 0 ? report.services.join(", ") : "none";
  ctx.print(`worker-toolbox doctor — environment "${report.prefix}", services: ${services}\n`);
  ctx.print(
    table(
      ["status", "check", "detail"],
      report.checks.map((c) => [LABEL[c.status], c.id, c.detail]),
    ),
  );
  for (const check of report.checks.filter((c) => c.items && c.status !== "ok")) {
    ctx.print(`\n${check.id}:`);
    for (const item of check.items ?? []) ctx.print(`  - ${item}`);
  }
  const hints = report.checks.filter((check) => check.hint && check.status !== "ok");
  if (hints.length > 0) {
    ctx.print("\nHow to fix:");
    for (const check of hints) ctx.print(`  ${check.id}: ${check.hint}`);
  }
  const failed = report.checks.filter((check) => check.status === "fail").length;
  ctx.print(failed === 0 ? "\nHealthy." : `\n${failed} check(s) failed.`);
}
