import type { TaskMessage } from "../protocol/celeryMessage.js";
import { applySignature, type PlannedMessage } from "./applySignature.js";
import type { CelerySignatureDict } from "./celerySignature.js";

/**
 * What a worker sends after a task, as Celery's worker does (celery/app/trace.py, backends/base.py), so
 * a workflow continues whichever language ran the step. Pure: the worker publishes these through its
 * confirm publisher before it acknowledges the task's message (a crash in between sends them again with
 * the same task ids, and a final row is never written twice).
 *
 *   success  the chain's next step with the result prepended (unless immutable), carrying the rest of the
 *            chain; every callback with the result prepended (several: as one group, as Celery)
 *   failure  every errback as one group with the failed task's id prepended: Celery's calling convention
 *            across workers (an errback not registered where the task failed is always called this way)
 */
export function successFollowUps(msg: TaskMessage, result: unknown, newId?: () => string): PlannedMessage[] {
  const context = {
    prepend: [result],
    parent: { id: msg.id, rootId: msg.rootId },
    ...(newId ? { newId } : {}),
  };
  const out: PlannedMessage[] = [];
  const callbacks = (msg.embed.callbacks ?? []) as CelerySignatureDict[];
  if (callbacks.length === 1) out.push(...applySignature(callbacks[0]!, context));
  else if (callbacks.length > 1) {
    // Groups among them are applied each on its own; the other callbacks together as one group.
    const groups = callbacks.filter((cb) => cb.subtask_type === "group");
    const single = callbacks.filter((cb) => cb.subtask_type !== "group");
    for (const group of groups) out.push(...applySignature(group, context));
    if (single.length > 0) out.push(...applySignature(groupOf(single), context));
  }
  const chain = [...((msg.embed.chain ?? []) as CelerySignatureDict[])];
  const next = chain.pop();
  if (next) {
    const options = { ...next.options, chain: chain.length > 0 ? chain : null };
    out.push(...applySignature({ ...next, options }, context));
  }
  return withPriority(out, msg.priority);
}

export function failureFollowUps(msg: TaskMessage, newId?: () => string): PlannedMessage[] {
  return errbackMessages(
    { id: msg.id, rootId: msg.rootId },
    (msg.embed.errbacks ?? []) as CelerySignatureDict[],
    newId,
  );
}

/** `group(errbacks).apply_async((task_id,), parent_id=task_id, root_id=root_id)`. */
export function errbackMessages(
  failed: { id: string; rootId: string },
  errbacks: readonly CelerySignatureDict[],
  newId?: () => string,
): PlannedMessage[] {
  if (errbacks.length === 0) return [];
  return applySignature(groupOf([...errbacks]), {
    prepend: [failed.id],
    parent: failed,
    ...(newId ? { newId } : {}),
  });
}

/**
 * The later steps of a chain that failed: Celery stores the same FAILURE for every one that has a task id,
 * so a caller waiting on the chain's last step (its result id) hears of the failure instead of waiting.
 */
export function chainStepIds(msg: TaskMessage): string[] {
  return ((msg.embed.chain ?? []) as CelerySignatureDict[])
    .map((step) => step.options?.task_id)
    .filter((id): id is string => typeof id === "string");
}

function groupOf(members: CelerySignatureDict[]): CelerySignatureDict {
  return {
    task: "celery.group",
    args: [],
    kwargs: { tasks: members },
    options: {},
    subtask_type: "group",
    immutable: false,
  };
}

/** Celery applies a chain's next step and callbacks with the task's own priority (`priority=task_priority`). */
function withPriority(messages: PlannedMessage[], priority: number): PlannedMessage[] {
  for (const message of messages) message.init.priority = priority;
  return messages;
}
