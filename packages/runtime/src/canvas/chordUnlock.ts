import type { TaskState } from "../results/resultTypes.js";
import { applySignature, type PlannedMessage } from "./applySignature.js";
import type { CelerySignatureDict } from "./celerySignature.js";
import { errbackMessages } from "./followUps.js";

/**
 * `celery.chord_unlock` on a TypeScript worker, as Celery's builtin (celery/app/builtins.py) runs it for
 * its database backend, which keeps no counter: poll the header's results; until every one is ready, try
 * again in `interval` seconds; once all are, send the body with the list of their values (in header order)
 * prepended, or, when one failed, fail the body with a ChordError and call its errbacks. Whichever language
 * ran the header and whichever consumes the chord_unlock, the results table is the one truth it reads.
 *
 * Pure: the worker reads the statuses and carries out the decision (retry the chord_unlock through a delay
 * rung; publish the body; store the body's FAILURE).
 */
export interface ChordUnlockCall {
  groupId: string;
  body: CelerySignatureDict;
  headerIds: string[];
  /** Seconds between polls. */
  intervalS: number;
}

export interface HeaderResult {
  status: TaskState;
  value: unknown;
  error: { type: string; message: string } | null;
}

export type ChordUnlockDecision =
  | { kind: "wait"; delayMs: number }
  | { kind: "ready"; messages: PlannedMessage[] }
  | {
      kind: "failed";
      bodyId: string;
      error: { type: "ChordError"; message: string; module: "celery.exceptions" };
      messages: PlannedMessage[];
    };

const READY = new Set<TaskState>(["SUCCESS", "FAILURE", "REVOKED"]);

/** The call in a chord_unlock message, or a reason it cannot be one. */
export function parseChordUnlock(
  args: readonly unknown[],
  kwargs: Record<string, unknown>,
): ChordUnlockCall | string {
  const [groupId, body] = args;
  if (typeof groupId !== "string") return "args[0] (the group id) is not a string";
  if (!body || typeof body !== "object" || typeof (body as CelerySignatureDict).task !== "string")
    return "args[1] (the body) is not a signature";
  const result = kwargs.result;
  if (!Array.isArray(result)) return "kwargs.result (the header's results) is not a list";
  // Each is GroupResult.as_tuple() of a header task: [[id, parent], children].
  const headerIds = result.map((entry) =>
    Array.isArray(entry) && Array.isArray(entry[0]) ? entry[0][0] : undefined,
  );
  if (headerIds.some((id) => typeof id !== "string")) return "kwargs.result holds an entry without a task id";
  const interval = kwargs.interval;
  return {
    groupId,
    body: body as CelerySignatureDict,
    headerIds: headerIds as string[],
    intervalS: typeof interval === "number" && interval > 0 ? interval : 1,
  };
}

export function decideChordUnlock(
  call: ChordUnlockCall,
  results: ReadonlyMap<string, HeaderResult>,
  context: { parent: { id: string; rootId: string }; newId?: () => string },
): ChordUnlockDecision {
  const header = call.headerIds.map((id) => ({ id, result: results.get(id) }));
  if (header.some((item) => !item.result || !READY.has(item.result.status)))
    return { kind: "wait", delayMs: call.intervalS * 1_000 };
  const culprit = header.find((item) => item.result!.status !== "SUCCESS");
  if (culprit) return failBody(call, culprit.id, culprit.result!, context);
  return {
    kind: "ready",
    // `callback.delay(ret)`: the body is sent on its own, a new tree rooted where the chord_unlock is.
    messages: applySignature(call.body, { ...context, prepend: [header.map((item) => item.result!.value)] }),
  };
}

/** Celery's `chord_error_from_stack`: the body fails with a ChordError and its errbacks are called. */
function failBody(
  call: ChordUnlockCall,
  culpritId: string,
  culprit: HeaderResult,
  context: { parent: { id: string; rootId: string }; newId?: () => string },
): ChordUnlockDecision {
  const bodyId = (call.body.options?.task_id as string | undefined) ?? "";
  const raised = culprit.error ? `${culprit.error.type}(${pyQuote(culprit.error.message)})` : culprit.status;
  const errbacks = (call.body.options?.link_error ?? []) as CelerySignatureDict[];
  // The errbacks are called with the body's id, as for a body that ran and failed.
  const messages = errbackMessages({ id: bodyId, rootId: context.parent.rootId }, errbacks, context.newId);
  return {
    kind: "failed",
    bodyId,
    error: {
      type: "ChordError",
      message: `Dependency ${culpritId} raised ${raised}`,
      module: "celery.exceptions",
    },
    messages,
  };
}

/** Python's repr of a str, as Celery's message shows the failing exception. */
function pyQuote(text: string): string {
  return text.includes("'") && !text.includes('"')
    ? `"${text}"`
    : `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
