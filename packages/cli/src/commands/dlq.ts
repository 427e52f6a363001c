import { type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import type { DeadLetterInfo, ReplayProgress } from "@worker-toolbox/runtime/ops";
import type { ChannelModel } from "amqplib";
import type cliProgress from "cli-progress";
import type { Argv } from "yargs";
import type { CommandContext, GlobalOptions } from "../context.js";
import { json, table } from "../output.js";
import type { CommandBody } from "./table.js";

/** The positional <service> shares its name with the global --service option, so it may arrive as a list. */
type DlqArgs = Omit<GlobalOptions, "service"> & { service: string | string[]; json: boolean };
type ListArgs = DlqArgs & { limit: number };
type ReplayArgs = DlqArgs & {
  id?: string[];
  task?: string;
  reason?: string;
  all: boolean;
  dryRun: boolean;
  rate?: number;
};
type PurgeArgs = DlqArgs & { yes: boolean };

// The runtime and amqplib are imported by the handlers, so `dlq --help` does not load them
// (see commands/index.ts).
const runtime = () => import("@worker-toolbox/runtime/ops");

/** `worker-toolbox dlq …`: inspect, replay and purge a service's dead-letter queue. */
export function dlqCommands(ctx: CommandContext): CommandBody {
  const withJson = (inner: Argv) =>
    inner
      .positional("service", {
        type: "string",
        describe: "Service whose dead letters to use (platform: the tracker's)",
      })
      .option("json", { type: "boolean", default: false, describe: "Print JSON instead of text" });
  return {
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "list <service>",
          describe: "Show dead letters (task, id, reason, attempts, age) and return them to the queue",
          builder: (inner: Argv) =>
            withJson(inner)
              .option("limit", {
                type: "number",
                default: 50,
                describe: "Show at most this many (head first)",
              })
              .example("$0 dlq list export", "why did export tasks die?"),
          handler: (argv) => list(ctx, argv as unknown as ListArgs),
        })
        .command({
          command: "replay <service>",
          describe:
            "Republish dead letters to their task as a fresh first attempt; each is removed only after the copy is confirmed",
          builder: (inner: Argv) =>
            withJson(inner)
              .option("id", {
                type: "string",
                array: true,
                requiresArg: true,
                describe: "Replay this task id (repeatable)",
              })
              .option("task", {
                type: "string",
                requiresArg: true,
                describe: "Replay every dead letter of this task name",
              })
              .option("reason", {
                type: "string",
                requiresArg: true,
                describe: "Replay every dead letter with this reason (e.g. retries-exhausted)",
              })
              .option("all", { type: "boolean", default: false, describe: "Replay every dead letter" })
              .option("dry-run", {
                type: "boolean",
                default: false,
                describe: "Show what would be replayed; change nothing",
              })
              .option("rate", {
                type: "number",
                requiresArg: true,
                describe: "At most this many messages per second",
              })
              .example("$0 dlq replay export --task export.project.v2 --dry-run", "preview")
              .example("$0 dlq replay export --all --rate 200", "replay everything, gently"),
          handler: (argv) => replay(ctx, argv as unknown as ReplayArgs),
        })
        .command({
          command: "purge <service>",
          describe: "Delete every dead letter of a service (needs --yes)",
          builder: (inner: Argv) =>
            withJson(inner)
              .option("yes", { type: "boolean", default: false, describe: "Really delete them" })
              .example("$0 dlq purge export --yes", "after inspecting them"),
          handler: (argv) => purge(ctx, argv as unknown as PurgeArgs),
        })
        .demandCommand(1, "name a dlq command (see --help)"),
  };
}

function serviceOf(argv: DlqArgs): string {
  const service = Array.isArray(argv.service) ? argv.service[argv.service.length - 1] : argv.service;
  return service ?? "";
}

async function withBroker<T>(
  ctx: CommandContext,
  argv: DlqArgs,
  use: (connection: ChannelModel, config: ToolboxConfig, service: string) => Promise<T>,
): Promise<T> {
  const service = serviceOf(argv);
  const config = ctx.loadConfig({ ...argv, service: [service] }, { uses: ["broker"] });
  // TCP_NODELAY (brokerSocketOptions): list and replay are a `basic.get` round trip per message.
  const { connectOnce } = await import("../broker.js");
  const connection = await connectOnce(config);
  try {
    return await use(connection, config, service);
  } finally {
    await connection.close().catch(() => {});
  }
}

async function list(ctx: CommandContext, argv: ListArgs): Promise<void> {
  if (!Number.isInteger(argv.limit) || argv.limit < 1)
    throw usage(`--limit ${argv.limit} is not a positive whole number`);
  const { formatAge, listDeadLetters } = await runtime();
  await withBroker(ctx, argv, async (connection, config, service) => {
    const listing = await listDeadLetters(
      connection,
      { prefix: config.environment.prefix, service },
      { limit: argv.limit },
    );
    if (argv.json) {
      ctx.print(json(listing));
      return;
    }
    if (listing.total === 0) {
      ctx.print(`${listing.queue} is empty.`);
      return;
    }
    ctx.print(
      `${listing.messages.length} of ${listing.total} dead letter(s) in ${listing.queue}, head first:\n`,
    );
    ctx.print(letterTable(listing.messages, formatAge));
    ctx.print("\nAll were returned to the queue (their redelivered flag is now set).");
  });
}

function letterTable(letters: readonly DeadLetterInfo[], formatAge: (ms: number) => string): string {
  return table(
    ["task", "id", "reason", "attempts", "age", "error"],
    letters.map((letter) => [
      letter.task ?? "?",
      letter.taskId ?? "?",
      letter.origin === "broker" ? `${letter.reason} (broker)` : letter.reason,
      letter.attempts === undefined ? "-" : String(letter.attempts),
      letter.ageMs === undefined ? "-" : formatAge(letter.ageMs),
      oneLine(
        letter.errorClass
          ? `${letter.errorClass}: ${letter.errorMessage ?? ""}`
          : (letter.errorMessage ?? ""),
      ),
    ]),
  );
}

async function replay(ctx: CommandContext, argv: ReplayArgs): Promise<void> {
  const selected = [
    argv.all,
    argv.task !== undefined,
    argv.reason !== undefined,
    (argv.id?.length ?? 0) > 0,
  ].filter(Boolean).length;
  if (selected !== 1) throw usage("name exactly one of --id (repeatable), --task, --reason or --all");
  if (argv.rate !== undefined && !(argv.rate > 0))
    throw usage(`--rate ${argv.rate} is not a positive number`);
  const [{ formatAge, replayDeadLetters }, { pino }] = await Promise.all([runtime(), import("pino")]);
  await withBroker(ctx, argv, async (connection, config, service) => {
    const logger = pino({ level: "warn" }, { write: (line: string) => ctx.io.stderr(line) });
    const bar = await progressBar(argv.json);
    const result = await replayDeadLetters(
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
        onProgress: bar.update,
      },
    );
    bar.stop();
    if (result.failed.length > 0) ctx.fail(1);
    if (argv.json) {
      ctx.print(json(result));
      return;
    }
    if (result.dryRun) {
      ctx.print(
        `Dry run: ${result.matched} of ${result.total} dead letter(s) in ${result.queue} would be replayed.`,
      );
      if (result.items.length > 0) ctx.print(`\n${letterTable(result.items.slice(0, 50), formatAge)}`);
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
  });
}

/** cli-progress on stderr, only for people: not with --json and not when stderr is not a terminal. */
async function progressBar(
  asJson: boolean,
): Promise<{ update: (progress: ReplayProgress) => void; stop: () => void }> {
  if (asJson || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const { default: cliProgress } = await import("cli-progress");
  let bar: cliProgress.SingleBar | undefined;
  return {
    update: (progress) => {
      if (!bar) {
        if (progress.total < 100) return; // Small replays finish before a bar is worth drawing.
        bar = new cliProgress.SingleBar(
          { format: "replay [{bar}] {value}/{total} examined | {replayed} replayed", stream: process.stderr },
          cliProgress.Presets.shades_classic,
        );
        bar.start(progress.total, 0, { replayed: 0 });
      }
      bar.update(progress.examined, { replayed: progress.replayed });
    },
    stop: () => bar?.stop(),
  };
}

async function purge(ctx: CommandContext, argv: PurgeArgs): Promise<void> {
  if (!argv.yes) {
    ctx.warn(
      `Refusing to purge the dead letters of ${serviceOf(argv)} without --yes: they are deleted for good.\n` +
        `Inspect them first with \`worker-toolbox dlq list ${serviceOf(argv)}\`.`,
    );
    ctx.fail(2);
    return;
  }
  const { purgeDeadLetters } = await runtime();
  await withBroker(ctx, argv, async (connection, config, service) => {
    const ref = { prefix: config.environment.prefix, service };
    const purged = await purgeDeadLetters(connection, ref);
    if (argv.json) ctx.print(json({ service, purged }));
    else ctx.print(`Purged ${purged} dead letter(s) of ${service}.`);
  });
}

function usage(message: string): ToolboxError {
  return new ToolboxError("CONFIG_INVALID", `worker-toolbox dlq: ${message}.`, { hint: "see --help" });
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
