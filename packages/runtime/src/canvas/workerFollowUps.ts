import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { PublishRequest } from "../broker/confirmPublisher.js";
import type { FollowUps } from "../delivery/extensions.js";
import type { RowWriter } from "../delivery/settle.js";
import { type DeadLetter, type Done, errorInfo } from "../delivery/verdict.js";
import { prepareMessage, type SendTarget } from "../producer/prepareSend.js";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import type { DeadLetterReason } from "../protocol/envelope.js";
import { H } from "../protocol/envelope.js";
import { childTraceparent, headerText, parseTraceparent } from "../protocol/traceContext.js";
import type { TaskErrorInfo } from "../results/resultTypes.js";
import { CHORD_UNLOCK, type PlannedMessage } from "./applySignature.js";
import { decideChordUnlock, type HeaderResult, parseChordUnlock } from "./chordUnlock.js";
import type { ChordUnlockResult } from "./chordUnlockTask.js";
import { chainStepIds, failureFollowUps, successFollowUps } from "./followUps.js";

/**
 * Celery's canvas on a TypeScript worker: what settle publishes after a task's row is committed and before
 * its message is acked (delivery/extensions.ts), so a workflow continues whichever language ran the step.
 *
 *   succeeded            the chain's next step (this result prepended unless immutable) and every callback
 *   celery.chord_unlock  all header tasks done: the body with their values; one failed: the body's FAILURE
 *                        row (a ChordError, as Celery) and the body's errbacks
 *   failed               a FAILURE row for every later step of the chain (Celery's mark_as_failure, so a
 *                        caller waiting on the chain's last step hears of it) and every errback, called with
 *                        the failed task's id (Celery's convention across workers)
 *
 * Follow-up ids are derived from the task's id and attempt, so a redelivery after a crash between publish
 * and ack publishes the same ids again (a duplicate never writes a second final row).
 */
export interface WorkerFollowUpOptions {
  /** Where follow-ups go: the topic exchange, the size limit (and, in-process, the clock). */
  target(): SendTarget;
  /** The batch writer: resolves once the row is committed. */
  rows: RowWriter;
  logger: Logger;
}

/** A run that failed (Celery calls errbacks and fails the rest of the chain); not: never ran, or replayable. */
const FAILED_RUN = new Set<DeadLetterReason>([
  "permanent-error",
  "retries-exhausted",
  "invalid-result",
  "invalid-arguments",
  "time-limit",
]);

export function workerFollowUps(options: WorkerFollowUpOptions): FollowUps {
  return { plan: (verdict) => planFollowUps(options, verdict) };
}

/** The follow-ups of one verdict (rows they imply are stored first); the worker's and the in-process runner's. */
export function planFollowUps(
  options: WorkerFollowUpOptions,
  verdict: Done | DeadLetter,
): PublishRequest[] | Promise<PublishRequest[]> {
  const task = verdict.task;
  if (!task) return [];
  if (verdict.kind === "done") {
    if (verdict.tally !== "succeeded") return [];
    if (task.task === CHORD_UNLOCK) return unlockFollowUps(options, task, verdict);
    // Most tasks have neither: nothing to plan (and no promise to wait for) on every success.
    if (!task.embed.callbacks?.length && !task.embed.chain?.length) return [];
    return requests(options, task, successFollowUps(task, verdict.value, idsFrom(task)));
  }
  if (!FAILED_RUN.has(verdict.reason)) return [];
  return failedFollowUps(options, task, verdict);
}

async function failedFollowUps(
  options: WorkerFollowUpOptions,
  task: TaskMessage,
  letter: DeadLetter,
): Promise<PublishRequest[]> {
  const error = letter.row?.state === "FAILURE" ? letter.row.error : errorInfo(letter.error, letter.reason);
  await Promise.all(chainStepIds(task).map((taskId) => storeFailure(options, taskId, error)));
  return requests(options, task, failureFollowUps(task, idsFrom(task)));
}

async function unlockFollowUps(
  options: WorkerFollowUpOptions,
  task: TaskMessage,
  verdict: Done,
): Promise<PublishRequest[]> {
  const call = parseChordUnlock(task.args, task.kwargs);
  if (typeof call === "string") return [];
  const results = new Map<string, HeaderResult>(verdict.value as ChordUnlockResult);
  const context = { parent: { id: task.id, rootId: task.rootId }, newId: idsFrom(task) };
  const decision = decideChordUnlock(call, results, context);
  if (decision.kind === "wait") return []; // The handler retries until it is not.
  if (decision.kind === "failed" && decision.bodyId !== "")
    await storeFailure(options, decision.bodyId, decision.error, call.body.task);
  return requests(options, task, decision.messages);
}

async function storeFailure(
  options: WorkerFollowUpOptions,
  taskId: string,
  error: TaskErrorInfo,
  name?: string,
): Promise<void> {
  await options.rows.add({ taskId, ...(name ? { name } : {}), state: "FAILURE", error });
}

/**
 * The publishes of `messages`, sent from `parent`: in its trace (a new span id under its trace id, its
 * tracestate kept). A follow-up that cannot be encoded (too large with the result prepended) is not sent:
 * its FAILURE is stored under its id instead, so nothing waits on it forever, and the log says why.
 */
async function requests(
  options: WorkerFollowUpOptions,
  parent: TaskMessage,
  messages: readonly PlannedMessage[],
): Promise<PublishRequest[]> {
  if (messages.length === 0) return [];
  const traceparent = parent.extraHeaders[H.traceparent];
  const trace = {
    traceparent: childTraceparent(traceparent, parent.rootId),
    tracestate: parseTraceparent(traceparent) ? headerText(parent.extraHeaders[H.tracestate]) : undefined,
  };
  const target = options.target();
  const out: PublishRequest[] = [];
  for (const message of messages) {
    try {
      out.push(prepareMessage(message.init, message.routingKey, trace, target).request);
    } catch (error) {
      const id = message.init.id!;
      options.logger.error(
        { taskId: parent.id, followUp: id, task: message.init.task, err: (error as Error).message },
        "a workflow's follow-up cannot be sent; its FAILURE is stored instead",
      );
      await storeFailure(options, id, errorInfo(error as Error), message.init.task);
    }
  }
  return out;
}

/** Ids derived from the task's id and attempt: the same on a redelivery, unique otherwise (UUID v5 form). */
export function idsFrom(task: TaskMessage): () => string {
  let n = 0;
  return () => {
    const hex = createHash("sha1").update(`${task.id}:${task.retries}:${n++}`).digest("hex");
    const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };
}
