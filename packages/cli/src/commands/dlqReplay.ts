import { type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import { type ReplayProgress, type ReplayResult, replayDeadLetters } from "@worker-toolbox/runtime/ops";
import {
  createDatabasePool,
  describeDatabase,
  type ReplayOutcomes,
  waitForReplays,
} from "@worker-toolbox/runtime/results";
import type { ChannelModel } from "amqplib";
import type pg from "pg";
import { pino } from "pino";
import type { CommandContext } from "../context.js";
import { parseDuration } from "../duration.js";
import { json } from "../output.js";
import { createProgress, type Progress } from "../progress.js";
import { letterTable, type ReplayArgs, usage, withBroker } from "./dlqShared.js";

/**
 * `worker-toolbox dlq replay`: republish dead letters as a new generation of their tasks. Each replay is
 * recorded on its result row as soon as the broker confirmed the copy; with `--wait`, the command then waits
 * for the replayed runs and reports how many succeeded, failed again or are still running (exit 1 unless
 * every one succeeded).
 */
export async function replay(ctx: CommandContext, argv: ReplayArgs): Promise<void> {
  const selected = [
    argv.all,
    argv.task !== undefined,
    argv.reason !== undefined,
    (argv.id?.length ?? 0) > 0,
  ].filter(Boolean).length;
  if (selected !== 1) throw usage("name exactly one of --id (repeatable), --task, --reason or --all");
  if (argv.rate !== undefined && !(argv.rate > 0))
    throw usage(`--rate ${argv.rate} is not a positive number`);
  const waitMs = parseDuration(argv.waitTimeout, "--wait-timeout");
  await withBroker(
    ctx,
    argv,
    async (connection, config, service) => {
      const pool = createDatabasePool(config, { max: 2 });
      try {
        const results = await reachable(ctx, argv, pool);
        const result = await run(ctx, argv, connection, config, service, results ? pool : undefined);
        if (result.failed.length > 0) ctx.fail(1);
        const outcomes =
          argv.wait && !result.dryRun ? await waitFor(ctx, argv, config, pool, result, waitMs) : undefined;
        if (outcomes && (outcomes.failedAgain.length > 0 || outcomes.running.length > 0)) ctx.fail(1);
        if (argv.json) ctx.print(json(outcomes ? { ...result, outcomes: counts(outcomes) } : result));
        else print(ctx, result, outcomes);
      } finally {
        await pool.end().catch(() => {});
      }
    },
    argv.wait ? ["broker", "database"] : ["broker"],
  );
}

function run(
  ctx: CommandContext,
  argv: ReplayArgs,
  connection: ChannelModel,
  config: ToolboxConfig,
  service: string,
  pool: pg.Pool | undefined,
): Promise<ReplayResult> {
  const logger = pino({ level: "warn" }, { write: (line: string) => ctx.io.stderr(line) });
  let bar: Progress | undefined;
  return replayDeadLetters(
    connection,
    { prefix: config.environment.prefix, service },
    {
      selection: {
        ...(argv.id ? { ids: argv.id } : {}),
        ...(argv.task ? { task: argv.task } : {}),
        ...(argv.reason ? { reason: argv.reason } : {}),
        all: argv.all,
      },
      logger,
      publishTimeoutMs: config.producer.publishTimeoutMs,
      dryRun: argv.dryRun,
      ...(argv.rate ? { ratePerSecond: argv.rate } : {}),
      ...(pool ? { results: { pool, schema: config.database.schema } } : {}),
      onProgress: (progress: ReplayProgress) => {
        // Not with --json: a script reads the result, and nobody watches.
        if (argv.json) return;
        bar ??= createProgress(ctx, { label: "replay", total: progress.total, unit: "examined" });
        bar.update(progress.examined, `${progress.replayed} replayed`);
      },
    },
  ).finally(() => bar?.stop());
}

async function waitFor(
  ctx: CommandContext,
  argv: ReplayArgs,
  config: ToolboxConfig,
  pool: pg.Pool,
  result: ReplayResult,
  timeoutMs: number,
): Promise<ReplayOutcomes> {
  let bar: Progress | undefined;
  const outcomes = await waitForReplays(pool, config.database.schema, result.replays, {
    timeoutMs,
    onProgress: (now) => {
      if (argv.json) return;
      bar ??= createProgress(ctx, { label: "wait", total: result.replays.length, unit: "finished" });
      bar.update(now.succeeded.length + now.failedAgain.length, `${now.failedAgain.length} failed again`);
    },
  });
  bar?.stop();
  return outcomes;
}

/**
 * Whether the result database answers. Replays are recorded on their rows when it does; when it does not,
 * one warning (the replayed runs record themselves), and `--wait`, which needs it, fails before anything
 * is replayed.
 */
async function reachable(ctx: CommandContext, argv: ReplayArgs, pool: pg.Pool): Promise<boolean> {
  if (argv.dryRun) return false;
  try {
    await pool.query("SELECT 1");
    return true;
  } catch (error) {
    const reason = `PostgreSQL at ${describeDatabase(pool)}: ${(error as Error).message.split("\n")[0]}`;
    if (argv.wait) {
      throw new ToolboxError(
        "DATABASE_UNAVAILABLE",
        `--wait reads the result database, which is unreachable: ${reason}`,
        {
          hint: "set DATABASE_URL to the result backend, or replay without --wait",
        },
      );
    }
    ctx.warn(
      `warning: the replays are not recorded on their result rows now (${reason}); their runs record them`,
    );
    return false;
  }
}

function counts(outcomes: ReplayOutcomes) {
  return {
    succeeded: outcomes.succeeded.length,
    failedAgain: outcomes.failedAgain.length,
    running: outcomes.running.length,
    failedAgainIds: outcomes.failedAgain,
    runningIds: outcomes.running,
  };
}

function print(ctx: CommandContext, result: ReplayResult, outcomes: ReplayOutcomes | undefined): void {
  if (result.dryRun) {
    ctx.print(
      `Dry run: ${result.matched} of ${result.total} dead letter(s) in ${result.queue} would be replayed.`,
    );
    if (result.items.length > 0) ctx.print(`\n${letterTable(result.items.slice(0, 50))}`);
    if (result.items.length > 50) ctx.print(`… and ${result.matched - 50} more`);
    return;
  }
  ctx.print(
    `Replayed ${result.replayed} of ${result.matched} matching dead letter(s) from ${result.queue} ` +
      `(examined ${result.examined} of ${result.total}; the rest are back in the queue).`,
  );
  for (const failure of result.failed.slice(0, 20)) {
    ctx.warn(`  not replayed: ${failure.task ?? "?"} ${failure.taskId ?? "?"}: ${failure.error}`);
  }
  for (const warning of result.warnings) ctx.warn(`  warning: ${warning}`);
  if (!outcomes) return;
  ctx.print(
    `Of ${result.replays.length} replayed: ${outcomes.succeeded.length} succeeded, ` +
      `${outcomes.failedAgain.length} failed again, ${outcomes.running.length} still running.`,
  );
  if (outcomes.failedAgain.length > 0)
    ctx.print(`  failed again: ${outcomes.failedAgain.slice(0, 20).join(" ")} (worker-toolbox dlq list)`);
  if (outcomes.running.length > 0) ctx.print(`  still running: ${outcomes.running.slice(0, 20).join(" ")}`);
}
