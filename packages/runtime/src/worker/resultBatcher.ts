import { ToolboxError } from "@worker-toolbox/config";
import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import type { Logger } from "pino";
import { isRowError } from "../consumer/transient.js";
import type { ResultStore } from "../results/resultStore.js";
import type { TaskOutcome } from "../results/resultTypes.js";

/**
 * Groups result rows into multi-row upserts (`writeMany`: up to `batchSize` rows, one statement, one
 * transaction) and resolves each row's promise only after its batch COMMITs, so the caller can ack the
 * message behind it. This is what lets the worker keep "ack only after stored" at batched-insert speed.
 *
 * A database that is down or restarting is waited out: the batch is retried with exponential backoff
 * until it commits (nothing is acked meanwhile, and the broker's prefetch bounds what piles up here).
 * A row the database refuses for its own content (a value that cannot be encoded, a data exception) is
 * isolated by writing the batch row by row, and only that row's promise rejects.
 */
export interface ResultBatcherOptions {
  store: Pick<ResultStore, "writeMany">;
  logger: Logger;
  batchSize: number;
  waitMs: number;
  /** Batches written at once (keep below the pool size, leaving a connection for other queries). */
  concurrency: number;
  backoff?: { initialMs: number; maxMs: number };
}

interface Entry {
  outcome: TaskOutcome;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class ResultBatcher {
  private queue: Entry[] = [];
  private writing = 0;
  private timer: NodeJS.Timeout | undefined;
  private due = false;
  private immediate = false;
  private idleWaiters: (() => void)[] = [];
  private readonly abort = new AbortController();
  private readonly policy;

  constructor(private readonly options: ResultBatcherOptions) {
    const backoff = options.backoff ?? { initialMs: 100, maxMs: 5_000 };
    this.policy = retry(
      handleWhen((error) => !isRowError(error)),
      {
        maxAttempts: Number.POSITIVE_INFINITY,
        backoff: new ExponentialBackoff({ initialDelay: backoff.initialMs, maxDelay: backoff.maxMs }),
      },
    );
    this.policy.onRetry(({ attempt, delay, ...reason }) => {
      const error = "error" in reason ? (reason.error as Error) : undefined;
      options.logger.warn(
        {
          attempt,
          delayMs: Math.round(delay),
          err: error?.message,
          code: (error as { code?: string })?.code,
        },
        "storing results failed; retrying (messages stay unacknowledged)",
      );
    });
  }

  /** Rows waiting or being written. */
  get pending(): number {
    return this.queue.length + this.writing;
  }

  /** Resolves once the row is committed. */
  add(outcome: TaskOutcome): Promise<void> {
    if (this.abort.signal.aborted) {
      return Promise.reject(new ToolboxError("CLOSED", `Result of ${outcome.taskId} not stored: closing.`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ outcome, resolve, reject });
      if (this.queue.length >= this.options.batchSize || this.options.waitMs === 0) this.pump();
      else if (this.writing === 0) {
        // Nothing being written: write at the end of this turn (low latency when idle, and rows finished in
        // the same turn share the statement). Under load rows gather while the database works, so batches
        // grow with the load ("group commit") up to batchSize or waitMs.
        if (!this.immediate) {
          this.immediate = true;
          setImmediate(this.onTimer);
        }
      } else this.timer ??= setTimeout(this.onTimer, this.options.waitMs);
    });
  }

  /** Write everything queued now and wait until nothing is pending. */
  async flush(): Promise<void> {
    this.due = true;
    this.pump();
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop retrying: reject every pending row (their messages stay unacknowledged and return to the queue). */
  abandon(): void {
    this.abort.abort();
    clearTimeout(this.timer);
    const queued = this.queue;
    this.queue = [];
    for (const entry of queued) {
      entry.reject(new ToolboxError("CLOSED", `Result of ${entry.outcome.taskId} not stored: closing.`));
    }
    this.checkIdle();
  }

  private readonly onTimer = () => {
    this.immediate = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = true;
    this.pump();
  };

  private pump(): void {
    while (
      this.writing < this.options.concurrency &&
      this.queue.length > 0 &&
      (this.due || this.queue.length >= this.options.batchSize || this.options.waitMs === 0)
    ) {
      const batch = this.queue.splice(0, this.options.batchSize);
      this.writing += 1;
      void this.write(batch).finally(() => {
        this.writing -= 1;
        this.pump();
        this.checkIdle();
      });
    }
    if (this.queue.length === 0) {
      this.due = false;
      clearTimeout(this.timer);
      this.timer = undefined;
    } else if (this.writing < this.options.concurrency && !this.due) {
      this.timer ??= setTimeout(this.onTimer, this.options.waitMs);
    }
  }

  private async write(batch: Entry[]): Promise<void> {
    try {
      await this.commit(batch.map((entry) => entry.outcome));
      for (const entry of batch) entry.resolve();
    } catch (error) {
      if (!isRowError(error) || batch.length === 1) {
        for (const entry of batch) entry.reject(error);
        return;
      }
      // Find the rows the database refuses; the others are stored.
      for (const entry of batch) {
        try {
          await this.commit([entry.outcome]);
          entry.resolve();
        } catch (rowError) {
          entry.reject(rowError);
        }
      }
    }
  }

  private async commit(outcomes: TaskOutcome[]): Promise<void> {
    await this.policy.execute(() => this.options.store.writeMany(outcomes), this.abort.signal);
  }

  private checkIdle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
