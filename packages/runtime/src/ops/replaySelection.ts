import { entityNames, PLATFORM_DEAD_LETTER_KEY, ToolboxError } from "@worker-toolbox/config";
import type { DeadLetterInfo } from "./deadLetterInfo.js";

/** Which dead letters a replay takes (`dlq replay --id/--task/--reason/--all`); any one that matches. */
export interface ReplaySelection {
  /** Replay these task ids. */
  ids?: readonly string[];
  /** Replay tasks with this exact name. */
  task?: string;
  /** Replay every dead letter with this reason (`retries-exhausted`, or the broker's `delivery_limit`…). */
  reason?: string;
  /** Replay everything. */
  all?: boolean;
}

/** The selection as a test of one dead letter; an empty selection is refused (CONFIG_INVALID). */
export function replayMatcher(select: ReplaySelection): (info: DeadLetterInfo) => boolean {
  if (!select.all && !select.task && !select.reason && (!select.ids || select.ids.length === 0)) {
    throw new ToolboxError(
      "CONFIG_INVALID",
      "A replay needs a selection: ids, a task name, a reason, or all.",
      {
        hint: "pass --id <task id> (repeatable), --task <name>, --reason <reason> or --all",
      },
    );
  }
  const ids = new Set(select.ids ?? []);
  return (info) =>
    select.all === true ||
    (info.taskId !== undefined && ids.has(info.taskId)) ||
    (select.task !== undefined && info.task === select.task) ||
    (select.reason !== undefined && info.reason === select.reason);
}

/**
 * Where a replayed copy goes: the task exchange for a service's dead letters. The platform's dead letters
 * are tracking copies: straight back to the platform queue, or the task would run again.
 */
export function replayTarget(prefix: string, service: string): { exchange: string; routingKey?: string } {
  const names = entityNames(prefix);
  return service === PLATFORM_DEAD_LETTER_KEY
    ? { exchange: "", routingKey: names.platformQueue }
    : { exchange: names.exchange };
}
