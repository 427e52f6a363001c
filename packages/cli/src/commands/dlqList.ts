import { type DeadLetterInfo, formatAge, listDeadLetters } from "@worker-toolbox/runtime/ops";
import type { CommandContext } from "../context.js";
import { json, table } from "../output.js";
import { createProgress, type Progress } from "../progress.js";
import { type ListArgs, letterTable, oneLine, usage, withBroker } from "./dlqShared.js";
import { type DeadLetterGroup, summariseDeadLetters } from "./dlqSummary.js";

/** `worker-toolbox dlq list`: the dead letters, head first, or a summary by reason or task. */
export async function list(ctx: CommandContext, argv: ListArgs): Promise<void> {
  const limit = argv.limit ?? (argv.by ? Number.POSITIVE_INFINITY : 50);
  if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 1)))
    throw usage(`--limit ${argv.limit} is not a positive whole number`);
  await withBroker(ctx, argv, async (connection, config, service) => {
    let progress: Progress | undefined;
    const listing = await listDeadLetters(
      connection,
      { prefix: config.environment.prefix, service },
      {
        limit,
        onProgress: (taken, total) => {
          progress ??= createProgress(ctx, { label: "list", total, unit: "dead letters" });
          progress.update(taken);
        },
      },
    );
    progress?.stop();
    if (argv.by) {
      const summary = summariseDeadLetters(listing.messages, argv.by);
      if (argv.json)
        ctx.print(json({ queue: listing.queue, total: listing.total, by: argv.by, groups: summary }));
      else printSummary(ctx, listing, argv.by, summary);
      return;
    }
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
    ctx.print(letterTable(listing.messages));
    ctx.print("\nAll were returned to the queue (their redelivered flag is now set).");
  });
}

function printSummary(
  ctx: CommandContext,
  listing: { queue: string; total: number; messages: readonly DeadLetterInfo[] },
  by: "reason" | "task",
  groups: readonly DeadLetterGroup[],
): void {
  if (listing.total === 0) {
    ctx.print(`${listing.queue} is empty.`);
    return;
  }
  ctx.print(`${listing.messages.length} of ${listing.total} dead letter(s) in ${listing.queue}, by ${by}:\n`);
  ctx.print(
    table(
      [by, "count", by === "reason" ? "tasks" : "reasons", "oldest", "newest", "last error"],
      groups.map((group) => [
        group.key,
        String(group.count),
        group.others.join(", "),
        group.oldestAgeMs === undefined ? "-" : formatAge(group.oldestAgeMs),
        group.newestAgeMs === undefined ? "-" : formatAge(group.newestAgeMs),
        oneLine(group.lastError ?? ""),
      ]),
    ),
  );
  ctx.print("\nAll were returned to the queue (their redelivered flag is now set).");
}
