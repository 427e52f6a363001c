import { type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type pg from "pg";
import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import { withPool } from "../database.js";
import { parseDuration } from "../duration.js";
import { json, table } from "../output.js";
import type { Progress } from "../progress.js";
import type { CommandBody } from "./table.js";

type DbArgs = GlobalOptions & { json?: boolean };

// The runtime (pg, amqplib) is imported by the handlers that use it, so `--help` does not load it
// (see commands/index.ts).
const runtime = () => import("@worker-toolbox/runtime/results");

/** `worker-toolbox db …`: the PostgreSQL result backend. Nothing is created unless asked. */
export function dbCommands(ctx: CommandContext): CommandBody {
  const withJson = (inner: Argv) =>
    inner.option("json", { type: "boolean", default: false, describe: "Print JSON instead of text" });
  return {
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "migrate",
          describe: "Apply pending migrations (advisory lock, ledger; re-running is a no-op)",
          builder: (inner: Argv) => withJson(inner).example("$0 db migrate", "create or update the tables"),
          handler: (argv) =>
            withPool(ctx, argv as DbArgs, (pool, config) => runMigrate(ctx, pool, config, argv as DbArgs)),
        })
        .command({
          command: "status",
          describe: "Show the applied and latest schema version; exit 1 when migrations are pending",
          builder: withJson,
          handler: (argv) =>
            withPool(ctx, argv as DbArgs, (pool, config) => runStatus(ctx, pool, config, argv as DbArgs)),
        })
        .command({
          command: "grants",
          describe:
            "Print (or with --apply run) the SQL that creates the least-privilege worker, tracker and dashboard roles",
          builder: (inner: Argv) =>
            inner
              .option("worker-role", {
                type: "string",
                default: "worker_toolbox_worker",
                describe: "Role workers connect as",
              })
              .option("tracker-role", {
                type: "string",
                default: "worker_toolbox_tracker",
                describe: "Role the tracker connects as",
              })
              .option("dashboard-role", {
                type: "string",
                default: "worker_toolbox_dashboard",
                describe: "Role the dashboard connects as (reads history; records revocations)",
              })
              .option("worker-password", {
                type: "string",
                describe: "Set the worker role's password (stored as a SCRAM hash)",
              })
              .option("tracker-password", {
                type: "string",
                describe: "Set the tracker role's password (stored as a SCRAM hash)",
              })
              .option("dashboard-password", {
                type: "string",
                describe: "Set the dashboard role's password (stored as a SCRAM hash)",
              })
              .option("keep-temporary-for", {
                type: "string",
                array: true,
                default: [] as string[],
                describe:
                  "A role that may still create temporary tables (TEMPORARY is revoked from PUBLIC; repeatable)",
              })
              .option("apply", {
                type: "boolean",
                default: false,
                describe: "Run the SQL instead of printing it",
              })
              .example("$0 db grants > grants.sql", "review the SQL")
              .example('$0 db grants --apply --worker-password "$WORKER_DB_PASSWORD"', "create the roles"),
          handler: (argv) => runGrants(ctx, argv as DbArgs & GrantsArgs),
        })
        .command({
          command: "prune",
          describe: "Delete finished results and tracking rows older than a cut-off, in bounded batches",
          builder: (inner: Argv) =>
            withJson(inner)
              .option("older-than", {
                type: "string",
                describe:
                  "Age cut-off: a number with s, m, h or d (e.g. 30d); default database.retentionDays " +
                  "(WT_DATABASE_RETENTION_DAYS, 30)",
              })
              .option("batch-size", { type: "number", default: 1000, describe: "Rows per DELETE" })
              .example(
                "$0 db prune",
                "keep database.retentionDays of history (run daily from cron or a systemd timer)",
              )
              .example("$0 db prune --older-than 7d", "keep a week"),
          handler: (argv) =>
            withPool(ctx, argv as DbArgs, (pool, config) =>
              runPrune(ctx, pool, config, argv as DbArgs & PruneArgs),
            ),
        })
        .demandCommand(1, "name a db command (see --help)"),
  };
}

interface GrantsArgs {
  workerRole: string;
  trackerRole: string;
  dashboardRole: string;
  workerPassword?: string;
  trackerPassword?: string;
  dashboardPassword?: string;
  keepTemporaryFor: string[];
  apply: boolean;
}

interface PruneArgs {
  olderThan?: string;
  batchSize: number;
}

async function runMigrate(
  ctx: CommandContext,
  pool: pg.Pool,
  config: ToolboxConfig,
  argv: DbArgs,
): Promise<void> {
  const { describeDatabase, migrate } = await runtime();
  const result = await migrate(pool, {
    schema: config.database.schema,
    onApplied: (migration) => {
      if (!argv.json) ctx.print(`  applied ${String(migration.version).padStart(6, "0")} ${migration.name}`);
    },
  });
  if (argv.json) ctx.print(json(result));
  else if (result.applied.length === 0)
    ctx.print(`Up to date: schema "${result.schema}" is at version ${result.current}.`);
  else
    ctx.print(
      `Migrated schema "${result.schema}" of ${describeDatabase(pool)} to version ${result.current}.`,
    );
}

async function runStatus(
  ctx: CommandContext,
  pool: pg.Pool,
  config: ToolboxConfig,
  argv: DbArgs,
): Promise<void> {
  const { migrationStatus } = await runtime();
  const status = await migrationStatus(pool, { schema: config.database.schema });
  if (argv.json) ctx.print(json(status));
  else {
    ctx.print(
      table(
        ["schema", "current", "latest", "pending"],
        [
          [
            config.database.schema,
            String(status.current),
            String(status.latest),
            String(status.pending.length),
          ],
        ],
      ),
    );
    if (!status.upToDate) ctx.print("\nRun `worker-toolbox db migrate` to apply the pending migrations.");
  }
  if (!status.upToDate) ctx.fail(1);
}

async function runGrants(ctx: CommandContext, argv: DbArgs & GrantsArgs): Promise<void> {
  const config = ctx.loadConfig(argv, { uses: ["database"] });
  const passwords = {
    ...(argv.workerPassword ? { worker: argv.workerPassword } : {}),
    ...(argv.trackerPassword ? { tracker: argv.trackerPassword } : {}),
    ...(argv.dashboardPassword ? { dashboard: argv.dashboardPassword } : {}),
  };
  const { grantsSql } = await runtime();
  const sql = grantsSql({
    schema: config.database.schema,
    workerRole: argv.workerRole,
    trackerRole: argv.trackerRole,
    dashboardRole: argv.dashboardRole,
    passwords,
    keepTemporaryFor: argv.keepTemporaryFor,
  });
  if (!argv.apply) {
    ctx.print(sql);
    return;
  }
  await withPool(ctx, argv, async (pool) => {
    await pool.query(sql);
    ctx.print(
      `Applied grants for roles ${argv.workerRole}, ${argv.trackerRole} and ${argv.dashboardRole} on schema "${config.database.schema}".`,
    );
  });
}

async function runPrune(
  ctx: CommandContext,
  pool: pg.Pool,
  config: ToolboxConfig,
  argv: DbArgs & PruneArgs,
): Promise<void> {
  const days = config.database.retentionDays;
  if (argv.olderThan === undefined && days === 0) {
    throw new ToolboxError(
      "CONFIG_INVALID",
      "database.retentionDays is 0 (keep forever): nothing to prune.",
      {
        hint: "pass --older-than (e.g. 30d) to prune anyway",
      },
    );
  }
  const olderThan = argv.olderThan ?? `${days}d`;
  const olderThanMs = parseDuration(olderThan);
  const [{ pruneResults }, { createProgress }] = await Promise.all([runtime(), import("../progress.js")]);
  let progress: Progress | undefined;
  const counts = await pruneResults(pool, config.database.schema, {
    olderThanMs,
    batchSize: argv.batchSize,
    onStart: ({ results }) => {
      if (!argv.json) progress = createProgress(ctx, { label: "prune", total: results, unit: "results" });
    },
    onProgress: (done) => progress?.update(done.results, `${done.tracking} tracking rows`),
  });
  progress?.stop();
  if (argv.json) ctx.print(json({ olderThanMs, ...counts }));
  else
    ctx.print(
      `Deleted ${counts.results} finished results and ${counts.tracking} tracking rows older than ${olderThan}.`,
    );
}
