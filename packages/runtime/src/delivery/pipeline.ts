import { setTimeout as sleep } from "node:timers/promises";
import type { RetryPolicy } from "@worker-toolbox/config";
import type { ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import type { AckTracker } from "../consumer/acks.js";
import type { DurableRetry } from "../consumer/transient.js";
import { within } from "../consumer/within.js";
import type { TaskMessage } from "../protocol/celeryMessage.js";
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
import type { RateLimits } from "./rateLimits.js";
import type { Settle } from "./settle.js";
import type { Slots } from "./slots.js";
import { type GiveBack, SHUTDOWN, type Verdict } from "./verdict.js";

export interface PipelineOptions {
  admit: AdmitContext;
  /** The retry policy of each task (the configured one with the contract's overrides). */
  policy(impl: TaskImplementation): RetryPolicy;
  slots: Slots;
  /** Per task name runs a second (remote control's rate_limit); a task over its rate waits for its turn. */
  rates?: RateLimits;
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

/**
 * What a delivery whose channel closed comes to: the broker has put the message back in the queue (it is
 * handed out again), so it is neither run nor acked here.
 */
const ORPHANED: GiveBack = Object.freeze({
  kind: "give-back",
  why: "unsettled",
  error: new Error("its channel closed; the broker hands the message out again"),
});

/** A redelivered copy whose task still runs here from a delivery that lost its channel: that run settles it. */
interface Heir {
  delivery: Delivery;
  /** Resolves the copy's pipeline with how it was settled. */
  settle(settled: Promise<void> | undefined): void;
}

/** One running handler; copies of one task id (a redelivery while the first runs) are chained by `next`. */
interface Running {
  delivery: Delivery;
  abort: TaskAbort;
  next: Running | undefined;
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
 * Every message passes here, so the stages run synchronously as long as nothing needs waiting for (a free
 * slot, a synchronous handler): the first promise of a typical delivery is its row's commit.
 */
export class DeliveryPipeline {
  /** Running handlers by task id. */
  private readonly running = new Map<string, Running>();
  private runningCount = 0;
  private idleWaiters: (() => void)[] = [];
  /** Deliveries whose pipeline is still waiting for something (a slot, a handler, a commit, a confirm). */
  private waitingCount = 0;
  private settledWaiters: (() => void)[] = [];
  /** Redelivered copies waiting for the run of their orphaned first delivery (the key), see `adopt`. */
  private readonly heirs = new Map<Delivery, Heir>();
  /** Aborted when draining starts: deliveries waiting for their rate limit's turn are given back. */
  private readonly draining = new AbortController();

  constructor(private readonly options: PipelineOptions) {}

  /** Handlers running now. */
  get size(): number {
    return this.runningCount;
  }

  /** Take one message from `acks`' channel through the pipeline. */
  receive(acks: AckTracker, message: ConsumeMessage): void {
    const delivery = new Delivery(message, acks);
    let waiting: Promise<void> | undefined;
    try {
      waiting = this.process(delivery);
    } catch (error) {
      this.rescue(delivery, error);
      return;
    }
    if (!waiting) return;
    this.waitingCount += 1;
    waiting.then(this.waited, (error: unknown) => {
      this.rescue(delivery, error);
      this.waited();
    });
  }

  /** Fire the abort signal of every running copy of `taskId`. */
  abort(taskId: string, reason: string): void {
    for (let run = this.running.get(taskId); run; run = run.next) {
      this.options.logger.info({ taskId, reason }, "aborting revoked task");
      run.abort.abort(new TaskRevokedError(taskId, reason));
    }
  }

  /**
   * Graceful stop, in the order that loses nothing (the caller has cancelled the consumer):
   *  1. deliveries still waiting for a handler slot (or their rate limit's turn) go back to the queue;
   *  2. running handlers get `graceMs` to finish;
   *  3. the rest are given back and their signals fired;
   *  4. up to `settleMs`, finished deliveries store their rows (`flush`) and are acked.
   * Resolves false when step 4 ran out of time (their messages return to the queue).
   */
  async drain(graceMs: number, flush: () => Promise<void>, settleMs = 10_000): Promise<boolean> {
    this.options.slots.close();
    this.draining.abort();
    this.options.logger.info(
      { running: this.runningCount, graceMs },
      "shutting down: waiting for running tasks",
    );
    await within(this.whenIdle(), graceMs, undefined);
    const reason = new WorkerShutdownError(graceMs);
    for (const first of this.running.values()) {
      for (let run: Running | undefined = first; run; run = run.next) {
        void this.options.settle.settle(run.delivery, SHUTDOWN);
        run.abort.abort(reason);
      }
    }
    for (const heir of this.heirs.values()) heir.settle(this.options.settle.settle(heir.delivery, SHUTDOWN));
    this.heirs.clear();
    return within(
      Promise.allSettled([flush(), this.whenSettled()]).then(() => true),
      settleMs,
      false,
    );
  }

  /** Admit, then wait for a slot only when none is free. */
  private process(delivery: Delivery): Promise<void> | undefined {
    const { options } = this;
    const message = delivery.message;
    const admission = admit(message, options.admit, Date.now());
    if (admission.kind !== "done" || admission.tally !== "dropped")
      options.metrics.received(message.properties.headers?.task);
    if (admission.kind === "delay") options.observer?.received?.(admission.task, delivery);
    if (admission.kind !== "run") return options.settle.settle(delivery, admission);
    options.observer?.received?.(admission.task, delivery);
    if (message.fields.redelivered) {
      const adopted = this.adopt(delivery, admission.task.id);
      if (adopted) return adopted;
    }
    if (options.rates?.active) {
      const waitMs = options.rates.reserve(admission.task.task, Date.now());
      if (waitMs > 0) return this.waitForTurn(delivery, admission, waitMs);
    }
    // A free slot is taken without a turn of the microtask queue; otherwise wait for one.
    const release = options.slots.tryAcquire();
    if (release) return this.run(delivery, admission, release);
    return this.waitForSlot(delivery, admission);
  }

  /** Over its task's rate limit: wait (holding the message, not a slot) for its turn; shutdown gives it back. */
  private async waitForTurn(delivery: Delivery, admission: Run, waitMs: number): Promise<void> {
    const turn = await sleep(waitMs, true, { signal: this.draining.signal }).catch(() => false);
    if (!turn) return this.options.settle.settle(delivery, SHUTDOWN);
    return this.waitForSlot(delivery, admission);
  }

  private async waitForSlot(delivery: Delivery, admission: Run): Promise<void> {
    const release = await this.options.slots.acquire();
    if (!release) return this.options.settle.settle(delivery, SHUTDOWN);
    // Its channel closed while it waited: the broker has handed it out again; running it would run it twice.
    if (delivery.orphaned) {
      release();
      return this.options.settle.settle(delivery, ORPHANED);
    }
    return this.run(delivery, admission, release);
  }

  /**
   * A redelivered copy of a task whose run here lost its channel (RabbitMQ's consumer_timeout closed it and
   * handed its messages out again): the run's outcome settles this copy, instead of the task running twice.
   * A copy that lost its channel too while it waited makes way for the newer one.
   */
  private adopt(delivery: Delivery, taskId: string): Promise<void> | undefined {
    let run = this.running.get(taskId);
    while (run && !run.delivery.orphaned) run = run.next;
    if (!run) return undefined;
    const orphan = run.delivery;
    const previous = this.heirs.get(orphan);
    if (previous && !previous.delivery.orphaned) return undefined;
    return new Promise<void>((resolve) => {
      this.heirs.set(orphan, { delivery, settle: resolve });
      previous?.settle(this.options.settle.settle(previous.delivery, ORPHANED));
    });
  }

  /** Holding a slot: run the handler, release the slot, then judge and settle. */
  private run(delivery: Delivery, admission: Run, release: () => void): Promise<void> | undefined {
    const { options } = this;
    const { task, ref, impl } = admission;
    let execution: Execution | Promise<Execution>;
    try {
      // Revoked or expired while it waited for a slot?
      const late = notRunnable(task, ref, options.admit, Date.now());
      if (late) {
        release();
        return options.settle.settle(delivery, late);
      }
      if (impl.contract.idempotent || (!task.ignoreResult && options.trackStarted?.(impl)))
        return this.checkThenRun(delivery, admission, release);
      execution = this.execute(delivery, admission);
    } catch (error) {
      release();
      throw error;
    }
    if (execution instanceof Promise) return this.awaitRun(delivery, admission, execution, release);
    release();
    return this.conclude(delivery, admission, execution);
  }

  /** An idempotent contract's "already succeeded?" and the STARTED row come before the handler runs. */
  private async checkThenRun(delivery: Delivery, admission: Run, release: () => void): Promise<void> {
    const { options } = this;
    const { task, ref, impl } = admission;
    let execution: Execution;
    try {
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
    return this.conclude(delivery, admission, execution);
  }

  private async awaitRun(
    delivery: Delivery,
    admission: Run,
    run: Promise<Execution>,
    release: () => void,
  ): Promise<void> {
    let execution: Execution;
    try {
      execution = await run;
    } finally {
      release();
    }
    return this.conclude(delivery, admission, execution);
  }

  private conclude(delivery: Delivery, admission: Run, execution: Execution): Promise<void> | undefined {
    if (delivery.settled) return undefined; // Shutdown gave it back while it ran.
    const { options } = this;
    const { task, ref, impl } = admission;
    const revokedReason = options.revoked.get(task.id);
    const verdict = judge(
      { task, ref, impl, execution, revokedReason, policy: options.policy(impl) },
      Date.now(),
    );
    const heir = this.heirs.size > 0 ? this.heirs.get(delivery) : undefined;
    if (heir) return this.passOn(delivery, heir, verdict);
    return options.settle.settle(delivery, verdict);
  }

  /** The run's delivery lost its channel: its verdict settles the copy the broker delivered again instead. */
  private passOn(orphan: Delivery, heir: Heir, verdict: Verdict): undefined {
    this.heirs.delete(orphan);
    void this.options.settle.settle(orphan, ORPHANED);
    heir.settle(this.options.settle.settle(heir.delivery, verdict));
    return undefined;
  }

  private execute(delivery: Delivery, admission: Run): Execution | Promise<Execution> {
    const { task, impl, input } = admission;
    const abort = new TaskAbort();
    const entry: Running = { delivery, abort, next: this.running.get(task.id) };
    this.running.set(task.id, entry);
    this.runningCount += 1;
    this.options.observer?.started?.(task, delivery);
    const startedAt = performance.now();
    const run = execute(task, impl, input, abort, new HandlerContext(this.options.services, task, abort));
    if (run instanceof Promise) return run.finally(() => this.finished(task, entry, startedAt));
    this.finished(task, entry, startedAt);
    return run;
  }

  private finished(task: TaskMessage, entry: Running, startedAt: number): void {
    this.options.metrics.handlerFinished(task.task, startedAt);
    const first = this.running.get(task.id);
    if (first === entry) {
      if (entry.next) this.running.set(task.id, entry.next);
      else this.running.delete(task.id);
    } else {
      for (let run = first; run; run = run.next) {
        if (run.next !== entry) continue;
        run.next = entry.next;
        break;
      }
    }
    this.runningCount -= 1;
    if (this.runningCount === 0) this.wakeIdle();
  }

  /** Something below settle threw (a bug, or a retry given up when the channel closed): give it back. */
  private rescue(delivery: Delivery, error: unknown): void {
    if (delivery.settled) {
      this.options.logger.error(
        { err: (error as Error)?.message },
        "delivery pipeline failed after settling",
      );
      return;
    }
    // A give-back settles at once.
    void this.options.settle.settle(delivery, { kind: "give-back", why: "unsettled", error });
  }

  private readonly waited = (): void => {
    this.waitingCount -= 1;
    if (this.waitingCount > 0) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const wake of waiters) wake();
  };

  /** Resolves once no delivery's pipeline waits for anything. */
  private whenSettled(): Promise<void> {
    if (this.waitingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
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
