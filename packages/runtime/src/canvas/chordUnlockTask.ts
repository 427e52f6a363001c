import type { TaskContract } from "@worker-toolbox/config";
import { z } from "zod";
import type { StoredResult } from "../results/readResults.js";
import { PermanentError, RetryableError } from "../worker/errors.js";
import { implementTask, type TaskImplementation } from "../worker/implementTask.js";
import { CHORD_UNLOCK } from "./applySignature.js";
import { decideChordUnlock, type HeaderResult, parseChordUnlock } from "./chordUnlock.js";

/** Stored results by task id (an id without a row is PENDING: left out). */
export type StoredResultReader = (taskIds: readonly string[]) => Promise<ReadonlyMap<string, StoredResult>>;

/** What looks up the service's own task implementations by name (the worker's task registry). */
export interface ImplementationLookup {
  get(name: string): TaskImplementation | undefined;
}

/**
 * The implementation serving a task name: the service's own, or Celery's builtin `celery.chord_unlock`,
 * which reads the chord header's rows through `read`. The worker and the in-process runner both look
 * implementations up through this, so which builtin serves which name is decided once.
 */
export function withCanvasBuiltins(
  tasks: ImplementationLookup,
  read: StoredResultReader,
): (name: string) => TaskImplementation | undefined {
  const chordUnlock = chordUnlockTask(read);
  return (name) => tasks.get(name) ?? (name === CHORD_UNLOCK ? chordUnlock : undefined);
}

/** The header's results in header order, as the chord_unlock run found them all done. */
export type ChordUnlockResult = [taskId: string, result: HeaderResult][];

/**
 * `celery.chord_unlock` as a contract, so it runs through the worker's pipeline like any task: a chord's
 * unlock is published to the queue of the chord body's service (applySignature.ts; Celery's
 * `fallback_chord_unlock` does the same), so a TypeScript worker receives it whenever the body is one of
 * its tasks, whichever language sent the chord. Celery's own task has `max_retries=None`: it polls until
 * the header is done, so this one never runs out of attempts.
 */
export const chordUnlockContract: TaskContract<
  typeof CHORD_UNLOCK,
  z.ZodType<unknown[]>,
  z.ZodType<Record<string, unknown>>,
  z.ZodType<ChordUnlockResult>
> = Object.freeze({
  name: CHORD_UNLOCK,
  service: "celery",
  task: "chord_unlock",
  version: null,
  args: z.array(z.unknown()),
  kwargs: z.record(z.string(), z.unknown()),
  result: z.custom<ChordUnlockResult>((value) => Array.isArray(value)),
  argNames: [],
  description: "Celery's builtin: sends a chord's body once every header task is done.",
  examples: [],
  idempotent: false,
  retry: { maxAttempts: Number.POSITIVE_INFINITY },
  timeLimitMs: { hard: null, soft: null },
  rateLimit: null,
  trackStarted: false,
});

/**
 * The handler: read the header's results; while one is not done, retry in the chord's interval (Celery's
 * `self.retry(countdown=interval)`); once all are, return them. What follows (the body with the list of
 * values, or the body's FAILURE and its errbacks) is published by the worker's canvas follow-ups before the
 * chord_unlock message is acked (canvas/workerFollowUps.ts).
 */
function chordUnlockTask(read: StoredResultReader): TaskImplementation {
  return implementTask(chordUnlockContract, async ({ args, kwargs }, ctx) => {
    const call = parseChordUnlock(args, kwargs);
    if (typeof call === "string") throw new PermanentError(`${CHORD_UNLOCK}: ${call}`);
    const stored = await read(call.headerIds);
    const results = new Map([...stored].map(([id, result]) => [id, headerResult(result)]));
    const decision = decideChordUnlock(call, results, { parent: { id: ctx.taskId, rootId: ctx.rootId } });
    if (decision.kind === "wait") {
      const done = call.headerIds.filter((id) => results.has(id)).length;
      throw new RetryableError({
        message: `chord ${call.groupId}: ${done} of ${call.headerIds.length} header tasks reported`,
        delayMs: decision.delayMs,
      });
    }
    return call.headerIds.map((id): [string, HeaderResult] => [id, results.get(id)!]);
  });
}

/** A HeaderResult from a stored result row. */
function headerResult(stored: StoredResult): HeaderResult {
  return {
    status: stored.status,
    value: stored.value,
    error: stored.error ? { type: stored.error.type, message: stored.error.message } : null,
  };
}
