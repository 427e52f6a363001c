import type { ToolboxConfig } from "@worker-toolbox/config";
import type { AUDIT_COUNTERS, AuditReport } from "@worker-toolbox/runtime/ops";
import type { ChannelModel } from "amqplib";
import type { Argv } from "yargs";
import { type CommandContext, type GlobalOptions, servicesFrom } from "../context.js";
import { parseDuration } from "../duration.js";
import { loadOpsRuntime, type OpsRuntime } from "../opsRuntime.js";
import { json, table } from "../output.js";
import type { CommandBody } from "./table.js";

type AuditArgs = GlobalOptions & {
  since: string;
  grace: string;
  ids: number;
  json: boolean;
  broker: boolean;
};

/** `worker-toolbox audit`: reconcile what was scheduled with what finished, and name what was lost. */
export function auditCommand(ctx: CommandContext): CommandBody {
  return {
    builder: (yargs: Argv) =>
      yargs
        .option("since", {
          type: "string",
          default: "24h",
          describe: "Tasks scheduled this long ago or later: a number with s, m, h or d",
        })
        .option("grace", {
          type: "string",
          default: "1h",
          describe: "How long past its due time (scheduled, eta, retry) a task may take before it is overdue",
        })
        .option("ids", { type: "number", default: 5, describe: "Oldest task ids shown per group" })
        .option("broker", {
          type: "boolean",
          default: true,
          describe: "Look at the queues (--no-broker: database only; nothing is then called lost)",
        })
        .option("json", { type: "boolean", default: false, describe: "Print JSON instead of tables" })
        .example("$0 audit --since 24h", "did we lose anything in the last day?")
        .example("$0 audit --since 7d --grace 6h --json", "a week, for a script"),
    handler: (argv) => audit(ctx, argv as unknown as AuditArgs),
  };
}

async function audit(ctx: CommandContext, argv: AuditArgs): Promise<void> {
  const sinceMs = parseDuration(argv.since, "--since");
  const graceMs = parseDuration(argv.grace, "--grace");
  const config = ctx.loadConfig(argv, { uses: argv.broker ? ["broker", "database"] : ["database"] });
  const rt = await loadOpsRuntime();
  const pool = rt.createDatabasePool(config, { max: 2 });
  let connection: ChannelModel | undefined;
  const notes: string[] = [];
  try {
    if (argv.broker) {
      connection = await rt.connectOnce(config).catch((error: Error) => {
        notes.push(`broker unreachable: ${error.message.split("\n")[0]}`);
        return undefined;
      });
    }
    const report = await rt.runAudit({
      config,
      pool,
      ...(connection ? { connection, management: management(rt, config) } : {}),
      services: servicesFrom(argv, config),
      sinceMs,
      graceMs,
      idsPerGroup: argv.ids,
    });
    report.notes.unshift(...notes);
    if (argv.json) ctx.print(json(report));
    else print(ctx, rt, config, report, argv);
    if (!report.ok) ctx.fail(1);
  } finally {
    await connection?.close().catch(() => {});
    await pool.end();
  }
}

function management(rt: OpsRuntime, config: ToolboxConfig) {
  return {
    client: rt.createManagementClient({
      url: rt.deriveManagementUrl(config.broker.url, config.broker.managementUrl),
    }),
    vhost: rt.vhostOf(config.broker.url),
  };
}

/** Column headers of the per-task table, one per counter. */
const COLUMN: Record<(typeof AUDIT_COUNTERS)[number], string> = {
  scheduled: "scheduled",
  succeeded: "succeeded",
  failed: "failed",
  revoked: "revoked",
  deadLettered: "dead",
  noResultExpected: "no result",
  inFlight: "in flight",
  overdue: "overdue",
  lost: "lost",
};

function print(
  ctx: CommandContext,
  { AUDIT_COUNTERS, formatAge }: OpsRuntime,
  config: ToolboxConfig,
  report: AuditReport,
  argv: AuditArgs,
): void {
  ctx.print(
    `worker-toolbox audit — environment "${config.environment.prefix}", tasks scheduled since ${report.since} ` +
      `(${argv.since}), grace ${formatAge(report.graceMs)}\n`,
  );
  if (report.tasks.length === 0) ctx.print("No task was scheduled in the window.");
  else {
    const rows = report.tasks.map((line) => [line.task, ...AUDIT_COUNTERS.map((key) => String(line[key]))]);
    rows.push(["(total)", ...AUDIT_COUNTERS.map((key) => String(report.totals[key]))]);
    ctx.print(table(["task", ...AUDIT_COUNTERS.map((key) => COLUMN[key])], rows));
  }
  if (report.totals.untracked > 0) ctx.print(`\nUntracked results: ${report.totals.untracked}.`);
  if (report.unaccounted.length > 0) {
    ctx.print("\nUnaccounted:");
    ctx.print(
      table(
        ["kind", "task", "count", "oldest", "states", "oldest ids"],
        report.unaccounted.map((group) => [
          group.kind,
          group.task ?? "(no name)",
          String(group.count),
          group.oldestAt,
          Object.entries(group.states)
            .map(([state, n]) => `${state} ${n}`)
            .join(", "),
          group.oldestIds.join(" "),
        ]),
      ),
    );
    for (const group of report.unaccounted)
      ctx.print(`  ${group.kind} ${group.task ?? ""}: ${group.explanation}`);
  }
  const waiting = report.queues.filter((queue) => queue.ready > 0 || (queue.unacknowledged ?? 0) > 0);
  if (waiting.length > 0) {
    ctx.print("\nStill queued, delayed or dead-lettered:");
    ctx.print(
      table(
        ["queue", "ready", "unacked", "consumers"],
        waiting.map((queue) => [
          queue.queue,
          String(queue.ready),
          queue.unacknowledged === undefined ? "?" : String(queue.unacknowledged),
          String(queue.consumers),
        ]),
      ),
    );
  }
  for (const note of report.notes) ctx.print(`note: ${note}`);
  const missing = report.unaccounted.reduce((n, group) => n + group.count, 0);
  ctx.print(
    report.ok
      ? "\nEvery task in the window is accounted for."
      : `\n${missing} task(s) unaccounted (lost ${report.totals.lost}, overdue ${report.totals.overdue}, untracked ${report.totals.untracked}).`,
  );
}
