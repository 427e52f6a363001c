import type { Argv } from "yargs";
import type { CommandContext } from "../context.js";
import { json } from "../output.js";
import type { ListArgs, PurgeArgs, ReplayArgs } from "./dlqShared.js";
import type { CommandBody } from "./table.js";

// Each subcommand's module (and through it the runtime, amqplib and pg) is imported by its handler, so
// `dlq --help` loads none of them (see commands/index.ts).

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
                describe: "Show at most this many, head first (default 50; with --by, every dead letter)",
              })
              .option("by", {
                choices: ["reason", "task"] as const,
                describe: "Summarise instead of listing: a line per reason (or task) with counts and ages",
              })
              .example("$0 dlq list export", "why did export tasks die?")
              .example("$0 dlq list export --by reason", "how many died of what"),
          handler: async (argv) => (await import("./dlqList.js")).list(ctx, argv as unknown as ListArgs),
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
              .option("wait", {
                type: "boolean",
                default: false,
                describe:
                  "Wait for the replayed runs; report how many succeeded, failed again or are still running " +
                  "(exit 1 unless all succeeded)",
              })
              .option("wait-timeout", {
                type: "string",
                default: "10m",
                describe: "How long --wait waits: a number with s, m, h or d",
              })
              .example("$0 dlq replay export --task export.project.v2 --dry-run", "preview")
              .example(
                "$0 dlq replay export --task export.project.v2 --wait",
                "replay after a fix, and see it worked",
              )
              .example("$0 dlq replay export --all --rate 200", "replay everything, gently"),
          handler: async (argv) =>
            (await import("./dlqReplay.js")).replay(ctx, argv as unknown as ReplayArgs),
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

async function purge(ctx: CommandContext, argv: PurgeArgs): Promise<void> {
  const [{ serviceOf, withBroker }, { purgeDeadLetters }] = await Promise.all([
    import("./dlqShared.js"),
    import("@worker-toolbox/runtime/ops"),
  ]);
  if (!argv.yes) {
    ctx.warn(
      `Refusing to purge the dead letters of ${serviceOf(argv)} without --yes: they are deleted for good.\n` +
        `Inspect them first with \`worker-toolbox dlq list ${serviceOf(argv)}\`.`,
    );
    ctx.fail(2);
    return;
  }
  await withBroker(ctx, argv, async (connection, config, service) => {
    const ref = { prefix: config.environment.prefix, service };
    const purged = await purgeDeadLetters(connection, ref);
    if (argv.json) ctx.print(json({ service, purged }));
    else ctx.print(`Purged ${purged} dead letter(s) of ${service}.`);
  });
}
