import { randomUUID } from "node:crypto";
import { serviceBindingKey, taskNameProblem } from "@worker-toolbox/config";
import type { NewTaskMessageInit } from "../protocol/celeryMessage.js";
import { parseIsoDateTime } from "../protocol/isoDateTime.js";
import type { CelerySignatureDict } from "./celerySignature.js";

/**
 * How a Celery signature dict becomes task messages: `Signature.apply_async(args, parent_id, root_id)` as
 * celery/canvas.py does it, for the forms a message's embed may hold — a task, a `celery.group`, a
 * `celery.chain` and a `celery.chord`. The one place a workflow turns into messages: the producer's canvas
 * (planCanvas.ts) and a worker's follow-ups (a chain's next step, callbacks, errbacks, a chord's body)
 * both come through here. Pure: ids from `newId`, nothing is sent.
 */
export interface PlannedMessage {
  init: NewTaskMessageInit;
  routingKey: string;
}

export interface ApplyContext {
  /** Arguments prepended to a mutable signature's own (the previous result, a failed task's id). */
  prepend?: readonly unknown[];
  /** The task this is sent from: its id becomes the parent, its root the root. */
  parent?: { id: string; rootId: string };
  newId?: () => string;
  /** The clock for `countdown` and relative `expires` (tests). */
  now?: number;
}

export const CHORD_UNLOCK = "celery.chord_unlock";
/** Celery's `result_chord_retry_interval` default: the first poll of a chord's header, in ms. */
export const CHORD_UNLOCK_INTERVAL_MS = 1_000;

/** The messages that start `dict`; `group` and `chord` set for members of one. */
export function applySignature(dict: CelerySignatureDict, context: ApplyContext = {}): PlannedMessage[] {
  const newId = context.newId ?? randomUUID;
  const prepend = dict.immutable ? [] : [...(context.prepend ?? [])];
  switch (dict.subtask_type) {
    case "group":
      return applyGroup(tasksOf(dict, "tasks"), prepend, groupIdOf(dict, newId), context);
    case "chain": {
      const [first, ...rest] = tasksOf(dict, "tasks");
      if (!first) return [];
      // Later steps receive the previous result, not what was prepended to the chain.
      const chain = rest.length > 0 ? [...rest].reverse() : null;
      return applySignature(withEmbed(first, { chain }), { ...context, prepend });
    }
    case "chord":
      return applyChord(dict, prepend, context);
    default:
      return [taskMessage(dict, prepend, context, newId)];
  }
}

/** Each member with the same prepended arguments, one group id and its index. */
function applyGroup(
  members: CelerySignatureDict[],
  prepend: unknown[],
  groupId: string,
  context: ApplyContext,
): PlannedMessage[] {
  return members.flatMap((member, index) =>
    applySignature(
      { ...member, options: { ...member.options, group_id: groupId, group_index: index } },
      { ...context, prepend },
    ),
  );
}

/**
 * The header as a group whose members carry the body (`embed.chord`), then `celery.chord_unlock(group_id,
 * body, result=[...])` a second later, routed to the queue of the body's service: whichever worker consumes
 * it polls the header's results and sends the body with their list once all are done.
 */
function applyChord(dict: CelerySignatureDict, prepend: unknown[], context: ApplyContext): PlannedMessage[] {
  const newId = context.newId ?? randomUUID;
  const kwargs = dict.kwargs as { header?: unknown; body?: unknown };
  const header = Array.isArray(kwargs.header)
    ? (kwargs.header as CelerySignatureDict[])
    : tasksOf(kwargs.header as CelerySignatureDict, "tasks");
  const body = withTaskId(kwargs.body as CelerySignatureDict, newId);
  // The header's group id (a group dict's own id), else the chord's.
  const groupId = groupIdOf(
    Array.isArray(kwargs.header) ? dict : (kwargs.header as CelerySignatureDict),
    newId,
  );
  const members = applyGroup(
    header.map((member) => withEmbed(member, { chord: body })),
    prepend,
    groupId,
    context,
  );
  const unlock: PlannedMessage = {
    init: {
      task: CHORD_UNLOCK,
      id: newId(),
      args: [groupId, body],
      // GroupResult.as_tuple() of each header task: ((id, parent), None).
      kwargs: {
        interval: null,
        max_retries: null,
        result: members.map((member) => [[member.init.id, null], null]),
      },
      countdownMs: CHORD_UNLOCK_INTERVAL_MS,
      ignoreResult: true,
      ...(context.parent ? { parent: context.parent } : {}),
    },
    routingKey: unlockRoutingKey(body.task),
  };
  return [...members, unlock];
}

/** What Celery publishes chord_unlock with: the binding key of the body's service queue. */
export function unlockRoutingKey(bodyTask: string): string {
  return taskNameProblem(bodyTask) === null ? serviceBindingKey(bodyTask.split(".")[0]!) : bodyTask;
}

function taskMessage(
  dict: CelerySignatureDict,
  prepend: unknown[],
  context: ApplyContext,
  newId: () => string,
): PlannedMessage {
  const options = dict.options ?? {};
  const now = context.now ?? Date.now();
  const init: NewTaskMessageInit = {
    task: dict.task,
    id: typeof options.task_id === "string" ? options.task_id : newId(),
    args: [...prepend, ...(dict.args ?? [])],
    kwargs: { ...(dict.kwargs ?? {}) },
    now: new Date(now),
    embed: {
      callbacks: listOption(options.link),
      errbacks: listOption(options.link_error),
      chain: listOption(options.chain),
      chord: (options.chord as CelerySignatureDict | undefined) ?? null,
    },
  };
  if (typeof options.countdown === "number") init.countdownMs = options.countdown * 1_000;
  else if (typeof options.eta === "string") init.eta = parseIsoDateTime(options.eta) ?? undefined;
  if (typeof options.expires === "number") init.expires = options.expires * 1_000;
  else if (typeof options.expires === "string") init.expires = parseIsoDateTime(options.expires) ?? undefined;
  if (typeof options.priority === "number") init.priority = options.priority;
  if (typeof options.group_id === "string")
    init.group = {
      id: options.group_id,
      index: typeof options.group_index === "number" ? options.group_index : null,
    };
  const hard = options.time_limit;
  const soft = options.soft_time_limit;
  if (typeof hard === "number" || typeof soft === "number")
    init.timeLimit = {
      hard: typeof hard === "number" ? hard : null,
      soft: typeof soft === "number" ? soft : null,
    };
  if (typeof options.shadow === "string") init.shadow = options.shadow;
  if (context.parent) init.parent = context.parent;
  return { init, routingKey: dict.task };
}

const listOption = (value: unknown) =>
  Array.isArray(value) && value.length > 0 ? (value as CelerySignatureDict[]) : null;

function tasksOf(dict: CelerySignatureDict | undefined, key: string): CelerySignatureDict[] {
  const tasks = (dict?.kwargs as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(tasks) ? (tasks as CelerySignatureDict[]) : [];
}

function groupIdOf(dict: CelerySignatureDict, newId: () => string): string {
  const id = dict.options?.task_id ?? dict.options?.group_id;
  return typeof id === "string" ? id : newId();
}

function withTaskId(dict: CelerySignatureDict, newId: () => string): CelerySignatureDict {
  return typeof dict.options?.task_id === "string"
    ? dict
    : { ...dict, options: { ...dict.options, task_id: newId() } };
}

/** A copy whose options carry a chain or chord for its message's embed (how Celery's freeze passes them). */
function withEmbed(
  dict: CelerySignatureDict,
  embed: { chain?: unknown; chord?: unknown },
): CelerySignatureDict {
  const options = { ...dict.options };
  if (embed.chain !== undefined) options.chain = embed.chain;
  if (embed.chord !== undefined) options.chord = embed.chord;
  return { ...dict, options };
}
