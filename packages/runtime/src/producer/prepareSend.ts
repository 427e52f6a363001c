import { type AnyTaskContract, ToolboxError, validateCall } from "@worker-toolbox/config";
import type { PublishRequest } from "../broker/confirmPublisher.js";
import { newTaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";
import { startTraceparent } from "../protocol/traceContext.js";
import { type SendOptions, type SendReceipt, TRACKING_HEADER } from "./types.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PreparedSend {
  receipt: SendReceipt;
  request: PublishRequest;
}

/**
 * Everything that can be wrong with a call, checked before anything is published: the arguments against
 * the contract (ContractViolation listing every failing path), the options (MESSAGE_INVALID), and the
 * encoding (MESSAGE_NOT_SERIALIZABLE, MESSAGE_TOO_LARGE). Pure, so a bad call never touches the broker.
 *
 * The arguments travel as given, not as parsed: the worker parses the same input with the same schema,
 * so transforms and defaults run once, where the handler needs their output.
 */
export function prepareSend(
  contract: AnyTaskContract,
  args: unknown,
  kwargs: unknown,
  options: SendOptions,
  target: { exchange: string; maxBytes: number },
): PreparedSend {
  validateCall(contract, args, kwargs ?? {});
  if (options.id !== undefined && !UUID.test(options.id)) {
    throw new ToolboxError("MESSAGE_INVALID", `Task ${contract.name}: id "${options.id}" is not a UUID.`, {
      hint: "task ids are random UUIDs (crypto.randomUUID()); reuse one only to resend the same task",
    });
  }
  const extraHeaders: Record<string, unknown> = {};
  if (options.tracking && Object.keys(options.tracking).length > 0)
    extraHeaders[TRACKING_HEADER] = options.tracking;
  if (options.traceparent !== undefined) extraHeaders.traceparent = options.traceparent;
  if (options.tracestate !== undefined) extraHeaders.tracestate = options.tracestate;
  const toSeconds = (ms: number | null) => (ms === null ? null : ms / 1000);
  const message = newTaskMessage({
    task: contract.name,
    args: args as unknown[],
    kwargs: (kwargs ?? {}) as Record<string, unknown>,
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.countdownMs !== undefined ? { countdownMs: options.countdownMs } : {}),
    ...(options.eta !== undefined ? { eta: options.eta } : {}),
    ...(options.expires !== undefined ? { expires: options.expires } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    ...(options.parent !== undefined ? { parent: options.parent } : {}),
    ...(options.ignoreResult !== undefined ? { ignoreResult: options.ignoreResult } : {}),
    timeLimit: { hard: toSeconds(contract.timeLimitMs.hard), soft: toSeconds(contract.timeLimitMs.soft) },
    extraHeaders,
  });
  // Every task carries trace context so its logs can be correlated; a new trace is named after the root task.
  if (options.traceparent === undefined) message.extraHeaders.traceparent = startTraceparent(message.rootId);
  const { content, properties } = encodeTaskMessage(message, { maxBytes: target.maxBytes });
  return {
    receipt: { id: message.id, name: message.task, rootId: message.rootId },
    request: { exchange: target.exchange, routingKey: contract.name, content, properties },
  };
}
