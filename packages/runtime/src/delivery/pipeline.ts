import type { RetryPolicy } from "@worker-toolbox/config";
import type { ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import type { AckTracker } from "../consumer/acks.js";
import type { DurableRetry } from "../consumer/transient.js";
import { within } from "../consumer/within.js";
import { TaskRevokedError, WorkerShutdownError } from "../worker/errors.js";
import type { TaskImplementation } from "../worker/implementTask.js";
import type { WorkerMetrics } from "../worker/metrics.js";
import type { RevokedSet } from "../worker/revocations.js";
import { type AdmitContext, admit, notRunnable, type Run } from "./admit.js";
import { Delivery } from "./delivery.js";
import { execute, TaskAbort } from "./execute.js";
import type { DeliveryObserver } from "./extensions.js";
import { HandlerContext, type HandlerServices } from "./handlerContext.js";
import { type Execution, judge } from "./judge.js";
import type { Settle } from "./settle.js";
import type { Slots } from "./slots.js";
import { SHUTDOWN } from "./verdict.js";

export interface PipelineOptions {
  admit: AdmitContext;
  /** The retry policy of each task (the configured one with the contract's overrides). */
  policy(impl: TaskImplementation): RetryPolicy;
  slots: Slots;
  revoked: RevokedSet;
  /** Store STARTED before this task's handler runs (Celery's track_started)? */
  trackStarted?(impl: TaskImplementation): boolean;
  /**
   * For `idempotent: true` contracts: is a SUCCESS row of this generation (or a later one) already stored?
   * A replay is a new generation, so it runs even though an earlier run succeeded.
   */
  hasSucceeded(taskId: string, generation: number): Promise<boolean>;
  retry: DurableRetry;
  services: HandlerServices;
  settle: Settle;
  metrics: WorkerMetrics;
  logger: Logger;
  observer?: DeliveryObserver;
}

interface Running {
  delivery: Delivery;
  abort: TaskAbort;
}

/**
 * A worker's deliveries, from arrival to the ack: `admit → execute → judge → settle`.
 *
 *   admit (pure)    decode, check, decide whether it may run now           → a verdict, or Run
 *   (slot)          wait for one of `worker.concurrency` handler slots
 *   execute         run the handler with its abort signal and time limits  → Execution
 *   judge (pure)    decide what the run comes to                            → a verdict
 *   settle          the only effects: rows, publishes, counts, logs, then the ack (or give-back)
 *
 * Shutdown gives running deliveries back through the same `settle`; waiting is on promises, not timers.
 */
export class DeliveryPipeline {
  private readonly running = new Map<string, Set<Running>>();
  private runningCount = 0;
  private readonly deliveries = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: PipelineOptions) {}

  /** Handlers running now. */
  get size(): number {
    return this.runningCount;
  }

  /** Take one message from `acks`' channel through the pipeline. */
  receive(acks: AckTracker, message: ConsumeMessage): void {
    const delivery = new Delivery(message, acks);
    const done = this.process(delivery).catch((error: unknown) => this.rescue(delivery, error));
    this.deliveries.add(done);
    void done.finally(() => this.deliveries.delete(done));
  }

  /** Fire the abort signal of every running copy of `taskId`. */
  abort(taskId: string, reason: string): void {
    for (const run of this.running.get(taskId) ?? []) {
      this.options.logger.info({ taskId, reason }, "aborting revoked task");
      run.abort.abort(new TaskRevokedError(taskId, reason));
    }
  }

  /**
   * Graceful stop, in the order that loses nothing (the caller has cancelled the consumer):
   *  1. deliveries still waiting for a handler slot go back to the queue;
   *  2. running handlers get `graceMs` to finish;
   *  3. the rest are given back and their signals fired;
   *  4. up to `settleMs`, finished deliveries store their rows (`flush`) and are acked.
   * Resolves false when step 4 ran out of time (their messages return to the queue).
   */
  async drain(graceMs: number, flush: () => Promise<void>, settleMs = 10_000): Promise<boolean> {
    this.options.slots.close();
    this.options.logger.info(
      { running: this.runningCount, graceMs },
      "shutting down: waiting for running tasks",
    );
    await within(this.whenIdle(), graceMs, undefined);
    const reason = new WorkerShutdownError(graceMs);
    for (const set of this.running.values()) {
      for (const run of set) {
        void this.options.settle.settle(run.delivery, SHUTDOWN);
        run.abort.abort(reason);
      }
    }
    return within(
      Promise.allSettled([flush(), ...this.deliveries]).then(() => true),
      settleMs,
      false,
    );
  }

  private async process(delivery: Delivery): Promise<void> {
    const { options } = this;
    const message = delivery.message;
    const admission = admit(message, options.admit, Date.now());
    if (admission.kind !== "done" || admission.tally !== "dropped")
      options.metrics.received(message.properties.headers?.task);
    if (admission.kind === "delay") options.observer?.received?.(admission.task, delivery);
    if (admission.kind !== "run") return options.settle.settle(delivery, admission);
    options.observer?.received?.(admission.task, delivery);
    // A free slot is taken without a turn of the microtask queue; otherwise wait for one.
    const release = options.slots.tryAcquire() ?? (await options.slots.acquire());
    if (!release) return options.settle.settle(delivery, SHUTDOWN);
    let execution: Execution;
    try {
      const { task, ref, impl } = admission;
      // Revoked or expired while it waited for a slot?
      const late = notRunnable(task, ref, options.admit, Date.now());
      if (late) return options.settle.settle(delivery, late);
      if (
        impl.contract.idempotent &&
        (await options.retry.run(() => options.hasSucceeded(task.id, ref.generation ?? 0), delivery.stopped))
      ) {
        return options.settle.settle(delivery, { kind: "done", tally: "skipped", task, ref });
      }
      // Stored before the handler runs, as Celery's trace does; a refused row is logged, not fatal.
      if (!task.ignoreResult && options.trackStarted?.(impl))
        await options.services.progress({ ...ref, state: "STARTED" });
      const run = this.execute(delivery, admission);
      execution = run instanceof Promise ? await run : run;
    } finally {
      release();
    }
    if (delivery.settled) return; // Shutdown gave it back while it ran.
    const { task, ref, impl } = admission;
    const revokedReason = options.revoked.get(task.id);
    const verdict = judge(
      { task, ref, impl, execution, revokedReason, policy: options.policy(impl) },
      Date.now(),
    );
    return options.settle.settle(delivery, verdict);
  }

  private execute(delivery: Delivery, admission: Run): Execution | Promise<Execution> {
    const { task, impl, input } = admission;
    const abort = new TaskAbort();
    const entry: Running = { delivery, abort };
    const set = this.running.get(task.id) ?? new Set<Running>();
    this.running.set(task.id, set);
    set.add(entry);
    this.runningCount += 1;
    this.options.observer?.started?.(task, delivery);
    const startedAt = performance.now();
    const finish = () => {
      this.options.metrics.handlerFinished(task.task, startedAt);
      set.delete(entry);
      if (set.size === 0) this.running.delete(task.id);
      this.runningCount -= 1;
      if (this.runningCount === 0) this.wakeIdle();
    };
    const run = execute(task, impl, input, abort, new HandlerContext(this.options.services, task, abort));
    if (run instanceof Promise) return run.finally(finish);
    finish();
    return run;
  }

  /** Something below settle threw (a bug, or a retry given up when the channel closed): give it back. */
  private rescue(delivery: Delivery, error: unknown): Promise<void> | undefined {
    if (delivery.settled) {
      this.options.logger.error(
        { err: (error as Error)?.message },
        "delivery pipeline failed after settling",
      );
      return undefined;
    }
    return this.options.settle.settle(delivery, { kind: "give-back", why: "unsettled", error });
  }

  private whenIdle(): Promise<void> {
    if (this.runningCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
