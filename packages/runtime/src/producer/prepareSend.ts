import { randomUUID } from "node:crypto";
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
  const id = options.id ?? randomUUID();
  const extraHeaders: Record<string, unknown> = {};
  if (options.tracking && Object.keys(options.tracking).length > 0)
    extraHeaders[TRACKING_HEADER] = options.tracking;
  // Every task carries trace context so its logs can be correlated; a new trace is named after the root task.
  extraHeaders.traceparent = options.traceparent ?? startTraceparent(options.parent?.rootId ?? id);
  if (options.tracestate !== undefined) extraHeaders.tracestate = options.tracestate;
  const { hard, soft } = contract.timeLimitMs;
  const message = newTaskMessage({
    task: contract.name,
    args: args as unknown[],
    kwargs: (kwargs ?? {}) as Record<string, unknown>,
    id,
    countdownMs: options.countdownMs,
    eta: options.eta,
    expires: options.expires,
    priority: options.priority,
    parent: options.parent,
    ignoreResult: options.ignoreResult,
    timeLimit: { hard: hard === null ? null : hard / 1000, soft: soft === null ? null : soft / 1000 },
    extraHeaders,
  });
  const { content, properties } = encodeTaskMessage(message, { maxBytes: target.maxBytes });
  return {
    receipt: { id: message.id, name: message.task, rootId: message.rootId },
    request: { exchange: target.exchange, routingKey: contract.name, content, properties },
  };
}
