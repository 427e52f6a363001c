import type { AnyTaskContract } from "@worker-toolbox/config";
import type { ArrivedMessage } from "../delivery/admit.js";
import { contractTimeLimit } from "../producer/prepareSend.js";
import type { SendOptions } from "../producer/types.js";
import { newTaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";

export interface TaskMessageOptions
  extends Pick<SendOptions, "countdownMs" | "eta" | "expires" | "id" | "parent" | "ignoreResult"> {
  /** The `retries` header: 1 makes the run the task's second attempt. */
  retries?: number;
  /** The clock for countdownMs and a relative expires. */
  now?: number;
}

/**
 * The message a producer would publish for this call, encoded as for the broker but with the arguments
 * left unchecked: the test kit hands it to the worker's admit, which parses (and refuses) them as a
 * worker does.
 */
export function taskMessageFor(
  contract: AnyTaskContract,
  args: unknown,
  kwargs: unknown,
  options: TaskMessageOptions = {},
): ArrivedMessage {
  const message = newTaskMessage({
    task: contract.name,
    args: args as unknown[],
    kwargs: (kwargs ?? {}) as Record<string, unknown>,
    id: options.id,
    countdownMs: options.countdownMs,
    eta: options.eta,
    expires: options.expires,
    parent: options.parent,
    ignoreResult: options.ignoreResult,
    timeLimit: contractTimeLimit(contract),
    ...(options.now === undefined ? {} : { now: new Date(options.now) }),
  });
  const { content, properties } = encodeTaskMessage({ ...message, retries: options.retries ?? 0 });
  return { content, properties };
}
