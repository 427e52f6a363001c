import type { PublishRequest } from "../broker/confirmPublisher.js";
import type { PlannedMessage } from "../canvas/applySignature.js";
import { decideChordUnlock, type HeaderResult, parseChordUnlock } from "../canvas/chordUnlock.js";
import { prepareMessage, type SendTarget } from "../producer/prepareSend.js";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import type { TaskOutcome } from "../results/resultTypes.js";
import type { ResultReader } from "./resultReader.js";

/** The outcome of `celery.chord_unlock` run in-process: messages to send, a row to store, or poll again. */
export interface ChordStep {
  requests: PublishRequest[];
  row?: TaskOutcome;
  /** Poll again after this many ms (the header is not finished). */
  againInMs?: number;
}

/**
 * `celery.chord_unlock` as a worker runs it (canvas/chordUnlock.ts decides): read the header's results
 * through the same reader the application uses, then send the body, fail it, or poll again.
 */
export async function chordUnlockStep(
  task: TaskMessage,
  reader: ResultReader,
  target: SendTarget,
): Promise<ChordStep> {
  const call = parseChordUnlock(task.args, task.kwargs);
  if (typeof call === "string") throw new Error(`celery.chord_unlock ${task.id}: ${call}`);
  const results = new Map<string, HeaderResult>();
  for (const id of call.headerIds) {
    const view = await reader.getTask(id);
    results.set(id, { status: view.status, value: view.result?.value, error: view.result?.error ?? null });
  }
  const decision = decideChordUnlock(call, results, { parent: { id: task.id, rootId: task.rootId } });
  switch (decision.kind) {
    case "wait":
      return { requests: [], againInMs: decision.delayMs };
    case "ready":
      return { requests: requests(decision.messages, target) };
    case "failed":
      return {
        requests: requests(decision.messages, target),
        row: { taskId: decision.bodyId, state: "FAILURE", error: decision.error },
      };
  }
}

function requests(messages: readonly PlannedMessage[], target: SendTarget): PublishRequest[] {
  return messages.map((message) => prepareMessage(message.init, message.routingKey, {}, target).request);
}
