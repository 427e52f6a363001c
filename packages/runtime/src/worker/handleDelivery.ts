import {
  type AnyTaskContract,
  type ToolboxConfig,
  ToolboxError,
  validateCall,
  validateResult,
} from "@worker-toolbox/config";
import type { ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { type DeadLetter, publishDeadLetter } from "../consumer/deadLetter.js";
import type { SendReceipt } from "../producer/types.js";
import { type DeadLetterReason, H, lastDeath } from "../protocol/envelope.js";
import { decodeTaskMessage, type IncomingProperties, type TaskMessage } from "../protocol/index.js";
import { traceIdOf } from "../protocol/traceContext.js";
import { taskRef } from "../results/messageRows.js";
import type { ResultStore } from "../results/resultStore.js";
import type { TaskErrorInfo, TaskOutcome, TaskRef } from "../results/resultTypes.js";
import type { AckTracker } from "./acks.js";
import { SoftTimeLimitExceeded, TimeLimitExceeded } from "./errors.js";
import type { FollowUpOptions, TaskContext, TaskImplementation } from "./implementTask.js";
import type { WorkerMetrics } from "./metrics.js";
import { isRowError, type ResultBatcher } from "./resultBatcher.js";
import { decideRetry, delayUntilDue, publishRetry, retryPolicyFor } from "./retry.js";
import type { RevokedSet } from "./revocations.js";
import type { Slots } from "./slots.js";

/**
 * One delivery from the service queue, from decode to acknowledgement:
 *
 *   decode ─✗─► dead letter (malformed)          known task? ─✗─► dead letter (unknown-task)
 *   revoked / expired ──► REVOKED row            eta in the future ──► back to a delay rung
 *   arguments valid? ─✗─► dead letter (invalid-arguments)
 *   run handler ──► result valid ──► SUCCESS row
 *            └─✗─► attempts left ──► RETRY row + retry message through a delay rung
 *                  otherwise ──► dead letter + FAILURE row
 *
 * The message is acked only after that outcome is durable (row committed, publish confirmed). Until then
 * it stays unacknowledged: a crash or a lost channel returns it to the queue, and since result writes are
 * idempotent on task id (a final row is never overwritten) a second execution is harmless.
 */
export interface WorkerRuntime {
  config: ToolboxConfig;
  service: string;
  queue: string;
  workerName: string;
  logger: Logger;
  registry: ReadonlyMap<string, TaskImplementation>;
  batcher: ResultBatcher;
  store: ResultStore;
  publisher: ConfirmPublisher;
  revoked: RevokedSet;
  slots: Slots;
  /** Tasks running now, by id (the same id twice only for duplicate deliveries). */
  running: Map<string, Set<Running>>;
  exchanges: { dead: string; delay: string };
  /** `<prefix>.delay.`: delay rung queues are this plus the rung (`200ms`, `5s`). */
  delayQueuePrefix: string;
  /** Retry `fn` on transient database/broker errors until it succeeds, `keepTrying()` is false or closed. */
  persist<T>(fn: () => Promise<T>, keepTrying: () => boolean): Promise<T>;
  send(
    parent: TaskMessage,
    contract: AnyTaskContract,
    args: unknown,
    kwargs: unknown,
    options: FollowUpOptions | undefined,
  ): Promise<SendReceipt>;
  stats: WorkerStats;
  metrics: WorkerMetrics;
}

export interface WorkerStats {
  succeeded: number;
  retried: number;
  deadLettered: number;
  revoked: number;
  delayed: number;
  skipped: number;
  requeued: number;
}

export interface Running {
  controller: Pick<AbortController, "abort" | "signal">;
  message: ConsumeMessage;
  acks: AckTracker;
  /** Set when shutdown returned the message to the queue: the handler's outcome is then ignored. */
  returned: boolean;
}

/** An eta at most this close is run now: sending it round the smallest rung would make it later, not exact. */
const ETA_TOLERANCE_MS = 20;

export async function handleDelivery(
  rt: WorkerRuntime,
  acks: AckTracker,
  message: ConsumeMessage,
): Promise<void> {
  acks.track(message);
  try {
    await processDelivery(rt, acks, message);
  } catch (error) {
    // Not settled (closing, channel gone): the message stays unacknowledged and is redelivered.
    const level = error instanceof ToolboxError && error.code === "CLOSED" ? "debug" : "warn";
    rt.logger[level](
      { err: (error as Error).message },
      "delivery left unacknowledged; it will be redelivered",
    );
  }
}

async function processDelivery(rt: WorkerRuntime, acks: AckTracker, message: ConsumeMessage): Promise<void> {
  if (isStrayDelayCopy(rt, message)) {
    rt.logger.warn(
      { taskId: message.properties.headers?.id, rung: message.properties.headers?.[H.delay] },
      "dropping a copy that passed through a delay rung other than its own (check the delay bindings)",
    );
    acks.ack(message);
    return;
  }
  rt.metrics.received(message.properties.headers?.task);
  const limit = rt.config.limits.maxMessageBytes;
  if (message.content.length > limit) {
    // Never decoded, run or stored: the row keeps the task's id and name, not its arguments.
    const { id, task } = message.properties.headers ?? {};
    const ref =
      typeof id === "string" && id !== ""
        ? { taskId: id, queue: rt.queue, ...(typeof task === "string" ? { name: task } : {}) }
        : undefined;
    const error = new ToolboxError(
      "MESSAGE_TOO_LARGE",
      `The message is ${message.content.length} bytes; the limit is ${limit} bytes (limits.maxMessageBytes).`,
    );
    return deadLetter(rt, acks, message, ref, { reason: "too-large", error, attempts: 0 });
  }
  let msg: TaskMessage;
  try {
    msg = decodeTaskMessage(message.content, message.properties as unknown as IncomingProperties);
  } catch (error) {
    const id = message.properties.headers?.id;
    const ref = typeof id === "string" && id !== "" ? { taskId: id, queue: rt.queue } : undefined;
    return deadLetter(rt, acks, message, ref, { reason: "malformed", error: error as Error, attempts: 0 });
  }
  const ref = taskRef(msg, rt.queue);
  const impl = rt.registry.get(msg.task);
  if (!impl) {
    const error = new ToolboxError(
      "TASK_UNKNOWN",
      `Service ${rt.service} has no handler for task ${msg.task}.`,
      {
        hint: "implement the task in this service, or check the task name (it is also the routing key)",
      },
    );
    return deadLetter(rt, acks, message, ref, { reason: "unknown-task", error, attempts: 0 });
  }
  const skip = notRunnable(rt, msg);
  if (skip) return revoke(rt, acks, message, ref, skip);
  if (msg.eta) {
    const remaining = msg.eta.getTime() - Date.now();
    if (remaining > ETA_TOLERANCE_MS) {
      const target = { config: rt.config, publisher: rt.publisher, delayExchange: rt.exchanges.delay };
      await rt.persist(
        () => delayUntilDue(target, message, msg.task, remaining),
        () => acks.open,
      );
      rt.stats.delayed += 1;
      acks.ack(message);
      return;
    }
  }
  let input: { args: unknown; kwargs: unknown };
  try {
    input = validateCall(impl.contract, msg.args, msg.kwargs);
  } catch (error) {
    return deadLetter(rt, acks, message, ref, {
      reason: "invalid-arguments",
      error: error as Error,
      attempts: 0,
    });
  }

  // A free slot is taken without a turn of the microtask queue; otherwise wait for one.
  const release = rt.slots.tryAcquire() ?? (await rt.slots.acquire());
  if (!release) {
    rt.stats.requeued += 1;
    acks.requeue(message); // Shutting down before it started.
    return;
  }
  let result: Execution;
  try {
    // Revoked while it waited for a slot?
    const late = notRunnable(rt, msg);
    if (late) return revoke(rt, acks, message, ref, late);
    if (impl.contract.idempotent) {
      const done = await rt.persist(
        () => rt.store.hasSucceeded(msg.id),
        () => acks.open,
      );
      if (done) {
        rt.stats.skipped += 1;
        acks.ack(message);
        return;
      }
    }
    const running = execute(rt, acks, message, msg, impl, input);
    result = running instanceof Promise ? await running : running;
  } finally {
    release();
  }

  if (result.running.returned) return; // Shutdown gave the message back to the queue.
  const revokedReason = rt.revoked.get(msg.id);
  if (revokedReason !== undefined) return revoke(rt, acks, message, ref, revokedReason);
  const attempt = msg.retries + 1;
  if (result.ok) {
    let value: unknown;
    try {
      value = validateResult(impl.contract, result.value);
    } catch (error) {
      rt.metrics.failed(msg.task);
      return deadLetter(rt, acks, message, ref, {
        reason: "invalid-result",
        error: error as Error,
        attempts: attempt,
      });
    }
    if (msg.ignoreResult) {
      rt.stats.succeeded += 1;
      rt.metrics.succeeded(msg.task);
      acks.ack(message);
      return;
    }
    try {
      await rt.batcher.add({ ...ref, state: "SUCCESS", result: value });
    } catch (error) {
      if (!isRowError(error)) throw error;
      return deadLetter(rt, acks, message, ref, {
        reason: "unstorable-result",
        error: error as Error,
        attempts: attempt,
      });
    }
    rt.stats.succeeded += 1;
    rt.metrics.succeeded(msg.task);
    acks.ack(message);
    return;
  }

  rt.metrics.failed(msg.task);
  const decision = decideRetry(retryPolicyFor(rt.config, impl.contract), attempt, result.error);
  if (!decision.retry) {
    return deadLetter(rt, acks, message, ref, {
      reason: decision.reason,
      error: result.error,
      attempts: attempt,
    });
  }
  const target = { config: rt.config, publisher: rt.publisher, delayExchange: rt.exchanges.delay };
  const eta = new Date(Date.now() + decision.delayMs);
  try {
    await Promise.all([
      rt.persist(
        () => publishRetry(target, msg, decision.delayMs),
        () => acks.open,
      ),
      storeQuietly(rt, { ...ref, state: "RETRY", error: errorInfo(result.error), eta }),
    ]);
  } catch (error) {
    if (
      error instanceof ToolboxError &&
      ["MESSAGE_INVALID", "MESSAGE_TOO_LARGE", "MESSAGE_NOT_SERIALIZABLE"].includes(error.code)
    ) {
      // The retry message itself cannot be built: dead-letter the original instead of looping.
      return deadLetter(rt, acks, message, ref, { reason: "retries-exhausted", error, attempts: attempt });
    }
    throw error;
  }
  rt.stats.retried += 1;
  rt.metrics.retried(msg.task);
  rt.logger.info(
    {
      task: msg.task,
      taskId: msg.id,
      traceId: traceIdOf(msg.extraHeaders.traceparent, msg.rootId),
      attempt,
      delayMs: decision.delayMs,
      err: result.error.message,
    },
    "task failed; retry scheduled",
  );
  acks.ack(message);
}

type Execution = ({ ok: true; value: unknown } | { ok: false; error: Error }) & { running: Running };

/**
 * Run the handler. A synchronous handler's outcome is returned as is (no promise, no timer: nothing can
 * interrupt synchronous code anyway); a promise is raced against the abort switch and the hard time limit.
 * The soft time limit only fires the handler's signal: the handler decides how to stop.
 */
function execute(
  rt: WorkerRuntime,
  acks: AckTracker,
  message: ConsumeMessage,
  msg: TaskMessage,
  impl: TaskImplementation,
  input: { args: unknown; kwargs: unknown },
): Execution | Promise<Execution> {
  const controller = new TaskAbort();
  const running: Running = { controller, message, acks, returned: false };
  const set = rt.running.get(msg.id) ?? new Set<Running>();
  rt.running.set(msg.id, set);
  set.add(running);
  const startedAt = performance.now();
  const finish = () => {
    rt.metrics.handlerFinished(msg.task, startedAt);
    set.delete(running);
    if (set.size === 0) rt.running.delete(msg.id);
  };
  let returned: unknown;
  try {
    returned = impl.handler(input as never, new HandlerContext(rt, msg, controller));
  } catch (error) {
    finish();
    return { ok: false, error: asError(error), running };
  }
  if (!isPromiseLike(returned)) {
    finish();
    return { ok: true, value: returned, running };
  }
  return settle(msg, impl, controller, running, returned).finally(finish);
}

async function settle(
  msg: TaskMessage,
  impl: TaskImplementation,
  controller: TaskAbort,
  running: Running,
  returned: PromiseLike<unknown>,
): Promise<Execution> {
  const hardMs = hardLimitMs(msg, impl.contract);
  const timer =
    hardMs === null
      ? undefined
      : setTimeout(() => controller.abort(new TimeLimitExceeded(msg.task, hardMs)), hardMs);
  const softMs = softLimitMs(msg, impl.contract);
  const softTimer =
    softMs === null || (hardMs !== null && softMs >= hardMs)
      ? undefined
      : setTimeout(() => controller.interrupt(new SoftTimeLimitExceeded(msg.task, softMs)), softMs);
  try {
    // A handler that ignores its signal is not waited for once it is aborted (revoke, time limit, shutdown).
    const value = await Promise.race([returned, controller.whenAborted()]);
    return { ok: true, value, running };
  } catch (error) {
    return { ok: false, error: asError(error), running };
  } finally {
    clearTimeout(timer);
    clearTimeout(softTimer);
  }
}

/**
 * The abort switch of one handler run. An AbortSignal is an EventTarget, costly to create for every message,
 * and most handlers never look at theirs: it is made when `ctx.signal` is first read (already aborted if the
 * run was). The worker itself waits on `whenAborted()`, a plain promise.
 */
class TaskAbort {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;
  /** Why the signal fired without the run being given up (the soft time limit). */
  private interruption: unknown;
  private rejectWait: ((reason: unknown) => void) | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted || this.interruption !== undefined)
        this.controller.abort(this.interruption ?? this.reason);
    }
    return this.controller.signal;
  }

  /** Fires the signal but keeps waiting for the handler (`whenAborted` is not settled). */
  interrupt(reason: unknown): void {
    if (this.aborted || this.interruption !== undefined) return;
    this.interruption = reason;
    this.controller?.abort(reason);
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException("This operation was aborted", "AbortError");
    this.controller?.abort(this.reason);
    this.rejectWait?.(this.reason);
  }

  /** Rejects with the reason once aborted. */
  whenAborted(): Promise<never> {
    return new Promise<never>((_, reject) => {
      if (this.aborted) reject(this.reason);
      else this.rejectWait = reject;
    });
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * A handler's context. A class rather than an object literal: one is made per message, and getters on a
 * literal cost an accessor pair and closures every time. What a handler may never use (signal, logger, the
 * progress and send functions) is made on first access; progress and send come back as bound functions,
 * so `const { progress } = ctx` still works.
 */
class HandlerContext implements TaskContext {
  readonly taskId: string;
  readonly name: string;
  readonly attempt: number;
  readonly retries: number;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly #rt: WorkerRuntime;
  readonly #msg: TaskMessage;
  readonly #abort: TaskAbort;
  #logger: Logger | undefined;
  #progress: TaskContext["progress"] | undefined;
  #send: TaskContext["send"] | undefined;

  constructor(rt: WorkerRuntime, msg: TaskMessage, abort: TaskAbort) {
    this.taskId = msg.id;
    this.name = msg.task;
    this.attempt = msg.retries + 1;
    this.retries = msg.retries;
    this.parentId = msg.parentId;
    this.rootId = msg.rootId;
    this.#rt = rt;
    this.#msg = msg;
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get logger(): Logger {
    const msg = this.#msg;
    // The worker's logger already carries the service.
    this.#logger ??= this.#rt.logger.child({
      task: msg.task,
      taskId: msg.id,
      rootId: msg.rootId,
      traceId: traceIdOf(msg.extraHeaders.traceparent, msg.rootId),
    });
    return this.#logger;
  }

  get progress(): TaskContext["progress"] {
    const rt = this.#rt;
    const msg = this.#msg;
    this.#progress ??= (update) =>
      storeQuietly(rt, {
        ...taskRef(msg, rt.queue),
        state: "PROGRESS",
        meta: { done: update.done, total: update.total ?? null, note: update.note ?? null },
      });
    return this.#progress;
  }

  get send(): TaskContext["send"] {
    const rt = this.#rt;
    const msg = this.#msg;
    this.#send ??= (contract, args, kwargs, options) => rt.send(msg, contract, args, kwargs, options);
    return this.#send;
  }
}

/** Why a task must not run now (revoked, expired), or undefined. */
function notRunnable(rt: WorkerRuntime, msg: TaskMessage): string | undefined {
  const reason = rt.revoked.get(msg.id);
  if (reason !== undefined) return reason;
  if (msg.expires && msg.expires.getTime() <= Date.now()) return `expired at ${msg.expires.toISOString()}`;
  return undefined;
}

async function revoke(
  rt: WorkerRuntime,
  acks: AckTracker,
  message: ConsumeMessage,
  ref: TaskRef,
  reason: string,
) {
  await rt.batcher.add({ ...ref, state: "REVOKED", reason });
  rt.stats.revoked += 1;
  rt.metrics.revoked(ref.name);
  acks.ack(message);
}

async function deadLetter(
  rt: WorkerRuntime,
  acks: AckTracker,
  message: ConsumeMessage,
  ref: TaskRef | undefined,
  letter: DeadLetter,
): Promise<void> {
  rt.logger.error(
    {
      reason: letter.reason,
      taskId: ref?.taskId,
      task: ref?.name,
      // From the raw headers: a message dead-lettered as malformed never decoded.
      traceId: traceIdOf(
        message.properties.headers?.[H.traceparent],
        String(message.properties.headers?.root_id ?? ""),
      ),
      attempts: letter.attempts,
      err: letter.error.message,
    },
    "dead-lettering task message",
  );
  const target = { exchange: rt.exchanges.dead, routingKey: rt.service, by: rt.workerName };
  await Promise.all([
    rt.persist(
      () => publishDeadLetter(rt.publisher, target, message, letter),
      () => acks.open,
    ),
    ref
      ? storeQuietly(rt, { ...ref, state: "FAILURE", error: errorInfo(letter.error, letter.reason) })
      : undefined,
  ]);
  rt.stats.deadLettered += 1;
  rt.metrics.deadLettered(ref?.name, letter.reason);
  acks.ack(message);
}

/**
 * Store a row whose loss does not change where the message goes (PROGRESS, RETRY, the FAILURE beside a
 * dead letter): a row the database refuses is logged, not fatal. Closing still propagates (no ack).
 */
async function storeQuietly(rt: WorkerRuntime, outcome: TaskOutcome): Promise<void> {
  try {
    await rt.batcher.add(outcome);
  } catch (error) {
    if (!isRowError(error)) throw error;
    rt.logger.warn(
      { taskId: outcome.taskId, state: outcome.state, err: (error as Error).message },
      "row not stored",
    );
  }
}

/**
 * A delayed message names its rung in the delay header. If the delay exchange's bindings ever route it to
 * more than one rung (hand-made or drifted bindings; the plan binds each rung to its own header value),
 * each extra copy would run the task again; a copy whose last dead-lettering queue is not its own rung is one.
 */
function isStrayDelayCopy(rt: WorkerRuntime, message: ConsumeMessage): boolean {
  const headers = message.properties.headers;
  const rung = headers?.[H.delay];
  if (typeof rung !== "string") return false;
  const queue = lastDeath(headers)?.queue;
  return (
    typeof queue === "string" && queue.startsWith(rt.delayQueuePrefix) && queue !== rt.delayQueuePrefix + rung
  );
}

function errorInfo(error: Error, reason?: DeadLetterReason): TaskErrorInfo {
  const info: TaskErrorInfo = { type: error.name || "Error", message: error.message };
  const stack = reason ? `${reason}: ${error.stack ?? error.message}` : error.stack;
  if (stack) info.stack = stack;
  return info;
}

function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === "string" ? value : (JSON.stringify(value) ?? String(value)), {
    cause: value,
  });
}

/** The soft time limit in ms: the message's `timelimit[1]` (seconds, Celery) or the contract's. */
function softLimitMs(msg: TaskMessage, contract: AnyTaskContract): number | null {
  if (msg.timeLimit.soft !== null && msg.timeLimit.soft > 0) return msg.timeLimit.soft * 1_000;
  return contract.timeLimitMs.soft;
}

/** The hard time limit in ms: the message's `timelimit[0]` (seconds, Celery) or the contract's. */
function hardLimitMs(msg: TaskMessage, contract: AnyTaskContract): number | null {
  if (msg.timeLimit.hard !== null && msg.timeLimit.hard > 0) return msg.timeLimit.hard * 1_000;
  return contract.timeLimitMs.hard;
}
