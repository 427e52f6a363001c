import type { Logger } from "pino";
import type { ConfirmPublisher } from "../broker/confirmPublisher.js";
import { prepareSend, type SendTarget } from "../producer/prepareSend.js";
import type { SendReceipt } from "../producer/types.js";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import { H } from "../protocol/envelope.js";
import { childTraceparent, headerText, parseTraceparent, traceIdOf } from "../protocol/traceContext.js";
import { taskRef } from "../results/messageRows.js";
import type { TaskOutcome } from "../results/resultTypes.js";
import type { TaskContext } from "../worker/implementTask.js";
import type { TaskAbort } from "./execute.js";

/** What a running handler can reach through its context. */
export interface HandlerServices {
  logger: Logger;
  queue: string;
  /** Store a PROGRESS (or STARTED) row; a row the database refuses is logged, not fatal. */
  progress(outcome: TaskOutcome): Promise<void>;
  /** `ctx.send` of the running task `parent`. */
  send(parent: TaskMessage, ...call: Parameters<TaskContext["send"]>): Promise<SendReceipt>;
}

/**
 * A handler's context. A class rather than an object literal: one is made per message, and getters on a
 * literal cost an accessor pair and closures every time. What a handler may never use (signal, logger, the
 * progress and send functions) is made on first access; progress and send come back as bound functions,
 * so `const { progress } = ctx` still works.
 */
export class HandlerContext implements TaskContext {
  readonly taskId: string;
  readonly name: string;
  readonly attempt: number;
  readonly retries: number;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly #services: HandlerServices;
  readonly #task: TaskMessage;
  readonly #abort: TaskAbort;
  #logger: Logger | undefined;
  #progress: TaskContext["progress"] | undefined;
  #send: TaskContext["send"] | undefined;

  constructor(services: HandlerServices, task: TaskMessage, abort: TaskAbort) {
    this.taskId = task.id;
    this.name = task.task;
    this.attempt = task.retries + 1;
    this.retries = task.retries;
    this.parentId = task.parentId;
    this.rootId = task.rootId;
    this.#services = services;
    this.#task = task;
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get logger(): Logger {
    const task = this.#task;
    // The worker's logger already carries the service.
    this.#logger ??= this.#services.logger.child({
      task: task.task,
      taskId: task.id,
      rootId: task.rootId,
      traceId: traceIdOf(task.extraHeaders[H.traceparent], task.rootId),
    });
    return this.#logger;
  }

  get progress(): TaskContext["progress"] {
    const services = this.#services;
    const task = this.#task;
    this.#progress ??= (update) =>
      services.progress({
        ...taskRef(task, services.queue),
        state: "PROGRESS",
        meta: { done: update.done, total: update.total ?? null, note: update.note ?? null },
      });
    return this.#progress;
  }

  get send(): TaskContext["send"] {
    const services = this.#services;
    const task = this.#task;
    this.#send ??= (contract, args, kwargs, options) => services.send(task, contract, args, kwargs, options);
    return this.#send;
  }
}

/**
 * `ctx.send`: a follow-up task whose parent is the running task and whose root is its root. It joins the
 * task's trace (a new span id under the same trace id), carrying the vendors' tracestate with it as W3C
 * Trace Context asks. Resolves once the broker confirmed it.
 */
export function followUpSender(
  publisher: Pick<ConfirmPublisher, "publish">,
  target: SendTarget | (() => SendTarget),
): HandlerServices["send"] {
  return async (parent, contract, args, kwargs, options) => {
    const traceparent = parent.extraHeaders[H.traceparent];
    const prepared = prepareSend(
      contract,
      args,
      kwargs,
      {
        ...options,
        parent: { id: parent.id, rootId: parent.rootId },
        traceparent: options?.traceparent ?? childTraceparent(traceparent, parent.rootId),
        tracestate:
          options?.tracestate ??
          (options?.traceparent === undefined && parseTraceparent(traceparent)
            ? headerText(parent.extraHeaders[H.tracestate])
            : undefined),
      },
      typeof target === "function" ? target() : target,
    );
    await publisher.publish(prepared.request);
    return prepared.receipt;
  };
}
