import { ToolboxError, taskNameProblem, validateCall } from "@worker-toolbox/config";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import { decodeTaskMessage, type IncomingProperties } from "../protocol/decodeTaskMessage.js";
import { H, lastDeath } from "../protocol/envelope.js";
import { taskRef } from "../results/messageRows.js";
import type { TaskRef } from "../results/resultTypes.js";
import type { TaskImplementation } from "../worker/implementTask.js";
import { type DeadLetter, type Delay, type Done, deadLetter, revoked } from "./verdict.js";

/** What admit reads of a delivery (a subset of amqplib's ConsumeMessage). */
export interface ArrivedMessage {
  content: Buffer;
  properties: { headers?: Record<string, unknown> | undefined } & IncomingProperties;
}

/** What admit knows about the worker: plain data and lookups, so it runs without a broker. */
export interface AdmitContext {
  service: string;
  /** The service queue (rows name it). */
  queue: string;
  /** `<prefix>.delay.`: a delay rung's queue is this plus the rung (`200ms`, `5s`). */
  delayQueuePrefix: string;
  maxMessageBytes: number;
  implementation(task: string): TaskImplementation | undefined;
  /** The revocation reason of a task id, if it is revoked. */
  revoked(taskId: string): string | undefined;
}

/** Admitted: run `impl` with `input` (the contract's parsed arguments). */
export interface Run {
  kind: "run";
  task: TaskMessage;
  ref: TaskRef;
  impl: TaskImplementation;
  input: { args: unknown; kwargs: unknown };
}

export type Admission = Run | Done | Delay | DeadLetter;

/** An eta at most this close is run now: sending it round the smallest rung would make it later, not exact. */
export const ETA_TOLERANCE_MS = 20;

/**
 * Decide what to do with a message before running anything:
 *
 *   a copy from a delay rung other than its own ─► Done (dropped)
 *   bigger than limits.maxMessageBytes ─► DeadLetter too-large (never decoded; no row with its body)
 *   not a Celery v2 message ─► DeadLetter malformed       no handler ─► DeadLetter unknown-task
 *   no handler, and the name is another service's ─► DeadLetter misrouted (no row: the owner's stands)
 *   revoked or expired ─► Done (REVOKED row)             eta in the future ─► Delay
 *   arguments break the contract ─► DeadLetter invalid-arguments
 *   otherwise ─► Run
 */
export function admit(message: ArrivedMessage, ctx: AdmitContext, now: number): Admission {
  const headers = message.properties.headers;
  const stray = strayDelayCopy(headers, ctx.delayQueuePrefix);
  if (stray) return { kind: "done", tally: "dropped", note: stray };
  if (message.content.length > ctx.maxMessageBytes) return tooLarge(message, ctx);
  let task: TaskMessage;
  try {
    task = decodeTaskMessage(message.content, message.properties);
  } catch (error) {
    const id = headers?.id;
    const ref = typeof id === "string" && id !== "" ? { taskId: id, queue: ctx.queue } : undefined;
    return deadLetter("malformed", error as Error, 0, ref);
  }
  const ref = taskRef(task, ctx.queue);
  const impl = ctx.implementation(task.task);
  if (!impl) {
    const owner = ownerOf(task.task);
    if (owner !== undefined && owner !== ctx.service) return misrouted(task, owner, ctx);
    const error = new ToolboxError(
      "TASK_UNKNOWN",
      `Service ${ctx.service} has no handler for task ${task.task}.`,
      {
        hint: "implement the task in this service, or check the task name (it is also the routing key)",
      },
    );
    return deadLetter("unknown-task", error, 0, ref, task);
  }
  const skip = notRunnable(task, ref, ctx, now);
  if (skip) return skip;
  if (task.eta) {
    const remaining = task.eta.getTime() - now;
    if (remaining > ETA_TOLERANCE_MS) return { kind: "delay", task, delayMs: remaining };
  }
  try {
    return { kind: "run", task, ref, impl, input: validateCall(impl.contract, task.args, task.kwargs) };
  } catch (error) {
    return deadLetter("invalid-arguments", error as Error, 0, ref, task);
  }
}

/** Revoked or expired: a REVOKED row instead of a run. Checked again after waiting for a handler slot. */
export function notRunnable(
  task: TaskMessage,
  ref: TaskRef,
  ctx: AdmitContext,
  now: number,
): Done | undefined {
  const reason = ctx.revoked(task.id);
  if (reason !== undefined) return revoked(task, ref, reason);
  if (task.expires && task.expires.getTime() <= now) {
    return revoked(task, ref, `expired at ${task.expires.toISOString()}`);
  }
  return undefined;
}

/** The service a task name belongs to (`<service>.<task>[.v<N>]`), or undefined when it breaks the rule. */
function ownerOf(name: string): string | undefined {
  return taskNameProblem(name) === null ? name.split(".")[0] : undefined;
}

/**
 * Another service's task reached this worker: a binding outside the plan (`topology verify` names it) routed
 * it here too. Its owner runs it and stores its outcome; a FAILURE row from this worker would overwrite what
 * a caller reads (or race it). So the copy is dead-lettered, and no row is written.
 */
function misrouted(task: TaskMessage, owner: string, ctx: AdmitContext): DeadLetter {
  const error = new ToolboxError(
    "TASK_UNKNOWN",
    `Task ${task.task} belongs to service ${owner}, but a copy reached ${ctx.queue} (service ${ctx.service}).`,
    {
      hint:
        "a binding outside the plan routes it here: `worker-toolbox topology verify` names it and " +
        "`worker-toolbox topology prune --yes` removes it; the owner's result is not touched",
    },
  );
  return deadLetter("misrouted", error, 0, undefined, task);
}

function tooLarge(message: ArrivedMessage, ctx: AdmitContext): DeadLetter {
  const { id, task } = message.properties.headers ?? {};
  const ref: TaskRef | undefined =
    typeof id === "string" && id !== ""
      ? { taskId: id, queue: ctx.queue, ...(typeof task === "string" ? { name: task } : {}) }
      : undefined;
  return deadLetter("too-large", messageTooLarge(message.content.length, ctx.maxMessageBytes), 0, ref);
}

/**
 * Why a received message over `limits.maxMessageBytes` is refused unread: the worker (admit) and the tracker
 * dead-letter it with reason `too-large`, and neither stores a row holding its body.
 */
export function messageTooLarge(bytes: number, limit: number): ToolboxError {
  return new ToolboxError(
    "MESSAGE_TOO_LARGE",
    `The message is ${bytes} bytes; the limit is ${limit} bytes (limits.maxMessageBytes).`,
    { hint: "producers pass ids of stored objects instead of the objects, or raise limits.maxMessageBytes" },
  );
}

/**
 * A delayed message names its rung in the delay header. If the delay exchange's bindings ever route it to
 * more than one rung (hand-made or drifted bindings; the plan binds each rung to its own header value),
 * each extra copy would run the task again; a copy whose last dead-lettering queue is not its own rung is
 * one. Returns why it is a stray, or undefined.
 */
function strayDelayCopy(headers: Record<string, unknown> | undefined, prefix: string): string | undefined {
  const rung = headers?.[H.delay];
  if (typeof rung !== "string") return undefined;
  const queue = lastDeath(headers)?.queue;
  if (typeof queue !== "string" || !queue.startsWith(prefix) || queue === prefix + rung) return undefined;
  return `a copy of a message for the ${rung} rung came through ${queue} (check the delay bindings)`;
}
