import { randomUUID } from "node:crypto";
import { type AnyTaskContract, ToolboxError, validateCall } from "@worker-toolbox/config";
import type { PublishRequest } from "../broker/confirmPublisher.js";
import { planCanvas } from "../canvas/planCanvas.js";
import type { Canvas, CanvasReceipt } from "../canvas/workflows.js";
import { type NewTaskMessageInit, newTaskMessage } from "../protocol/celeryMessage.js";
import { encodeTaskMessage } from "../protocol/encodeTaskMessage.js";
import { H } from "../protocol/envelope.js";
import { startTraceparent } from "../protocol/traceContext.js";
import type { CanvasSendOptions, SendOptions, SendReceipt } from "./types.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where a prepared message goes: the exchange, the size limit and (in-process runs) the clock for countdowns. */
export interface SendTarget {
  exchange: string;
  maxBytes: number;
  /** Epoch ms that `countdownMs` and a relative `expires` count from; default Date.now(). */
  now?: number;
}

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
  target: SendTarget,
): PreparedSend {
  validateCall(contract, args, kwargs ?? {});
  if (options.id !== undefined && !UUID.test(options.id)) {
    throw new ToolboxError("MESSAGE_INVALID", `Task ${contract.name}: id "${options.id}" is not a UUID.`, {
      hint: "task ids are random UUIDs (crypto.randomUUID()); reuse one only to resend the same task",
    });
  }
  const message: NewTaskMessageInit = {
    task: contract.name,
    args: args as unknown[],
    kwargs: (kwargs ?? {}) as Record<string, unknown>,
    id: options.id ?? randomUUID(),
    countdownMs: options.countdownMs,
    eta: options.eta,
    expires: options.expires,
    priority: options.priority,
    ignoreResult: options.ignoreResult,
    timeLimit: contractTimeLimit(contract),
    now: target.now === undefined ? undefined : new Date(target.now),
  };
  return prepareMessage(message, contract.name, options, target);
}

/** A contract's time limits in Celery's unit (seconds), for the `timelimit` header. */
export function contractTimeLimit(contract: AnyTaskContract): { hard: number | null; soft: number | null } {
  const { hard, soft } = contract.timeLimitMs;
  return { hard: hard === null ? null : hard / 1000, soft: soft === null ? null : soft / 1000 };
}

/**
 * The headers every message a producer sends carries (tracking metadata, trace context, parent), then the
 * encoding checks. Shared by single sends and workflows (canvas/planCanvas.ts), whose messages are built
 * from signatures rather than one call.
 */
export function prepareMessage(
  init: NewTaskMessageInit,
  routingKey: string,
  options: Pick<SendOptions, "tracking" | "traceparent" | "tracestate" | "parent">,
  target: SendTarget,
): PreparedSend {
  const id = init.id ?? randomUUID();
  const extraHeaders: Record<string, unknown> = init.extraHeaders ? { ...init.extraHeaders } : {};
  if (options.tracking && Object.keys(options.tracking).length > 0)
    extraHeaders[H.tracking] = options.tracking;
  // Every task carries trace context so its logs can be correlated; a new trace is named after the root task.
  extraHeaders[H.traceparent] = options.traceparent ?? startTraceparent(options.parent?.rootId ?? id);
  if (options.tracestate !== undefined) extraHeaders[H.tracestate] = options.tracestate;
  // The message's own copy of extraHeaders is this fresh object: no second copy of the init.
  const message = newTaskMessage(init, { id, parent: options.parent ?? init.parent, extraHeaders });
  const { content, properties } = encodeTaskMessage(message, { maxBytes: target.maxBytes });
  return {
    receipt: { id: message.id, name: message.task, rootId: message.rootId },
    request: { exchange: target.exchange, routingKey, content, properties },
  };
}

/**
 * Every message a workflow starts with, built (and checked) before the first is published, all in one trace
 * named after the workflow's first task. The producer publishes them; the in-process runner runs them.
 */
export function prepareCanvas(
  canvas: Canvas,
  options: CanvasSendOptions,
  target: SendTarget,
): { prepared: PreparedSend[]; receipt: CanvasReceipt & { rootId: string } } {
  const plan = planCanvas(canvas);
  const first = plan.messages[0]!.init.id!;
  const common = {
    ...options,
    traceparent: options.traceparent ?? startTraceparent(options.parent?.rootId ?? first),
  };
  const prepared = plan.messages.map((message) =>
    prepareMessage(message.init, message.routingKey, common, target),
  );
  return { prepared, receipt: { ...plan.receipt, rootId: prepared[0]!.receipt.rootId } };
}
