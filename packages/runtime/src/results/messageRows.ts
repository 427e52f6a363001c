import { taskNameProblem } from "@worker-toolbox/config";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import { readGeneration, trackingMetadata } from "../protocol/envelope.js";
import type { TaskRef } from "./resultTypes.js";
import type { TrackingInput } from "./trackingStore.js";

/**
 * A decoded task message as the rows the two writers store. Arguments go in as the decoder produced them
 * (the value model): the result writer keeps them as Kombu JSON bytes, the tracking writer as jsonb with
 * Kombu's markers, so whatever decodes can be stored.
 */

/** The task fields of the message's result rows (`queue`: the service queue it was consumed from). */
export function taskRef(msg: TaskMessage, queue: string): TaskRef {
  return {
    taskId: msg.id,
    name: msg.task,
    args: msg.args,
    kwargs: msg.kwargs,
    retries: msg.retries,
    queue,
    parentId: msg.parentId,
    rootId: msg.rootId,
    generation: readGeneration(msg.extraHeaders),
  };
}

/** The tracking row of one platform-queue copy; `serviceQueue` names the queue its service consumes. */
export function trackingInput(msg: TaskMessage, serviceQueue: (service: string) => string): TrackingInput {
  const service = taskNameProblem(msg.task) ? null : msg.task.split(".")[0]!;
  return {
    taskId: msg.id,
    name: msg.task,
    args: msg.args,
    kwargs: msg.kwargs,
    parentId: msg.parentId,
    rootId: msg.rootId,
    eta: msg.eta,
    expires: msg.expires,
    retries: msg.retries,
    queue: service ? serviceQueue(service) : null,
    tracking: trackingMetadata(msg.extraHeaders),
    ignoreResult: msg.ignoreResult,
    groupId: msg.group,
    groupIndex: msg.groupIndex,
  };
}
