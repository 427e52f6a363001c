import { ToolboxError } from "@worker-toolbox/config";
import { type DurableRetry, isRowError } from "./transient.js";

/**
 * Groups rows into multi-row writes (up to `batchSize` rows, one statement, one transaction) and resolves
 * each row's promise only after its batch COMMITs, so the caller can ack the message behind it. This is what
 * lets a consumer keep "ack only after stored" at batched-insert speed. The worker writes result rows with
 * it, the tracker tracking rows.
 *
 * When nothing is being written, a row is written as soon as the code that added it returns (a microtask: no
 * turn of the event loop is waited for when idle, and the rows of the deliveries one socket read brought —
 * added in one synchronous run — share the statement); while a write is in progress rows gather, so batches
 * grow with the load ("group commit") up to `batchSize` or `waitMs`.
 *
 * A database that is down or restarting is waited out by the durable retry (nothing is acked meanwhile, and
 * the broker's prefetch bounds what piles up here). A row the database refuses for its own content is
 * isolated inside the batch it came in — written row by row — and only that row's promise rejects; rows
 * that arrive meanwhile wait in the queue for the next batch, untouched.
 *
 * Batches are written side by side (`concurrency`) but their rows' promises settle in the order the batches
 * were cut: a batch that commits before an earlier one waits for it. Rows come in the order their messages
 * arrived, so the acks that follow stay in delivery order and one cumulative ack covers a whole commit
 * (consumer/acks.ts); settled out of order, every message of the later batch was acked on its own, and each
 * of those is a separate command in a quorum queue's log. The wait is never longer than the earlier write.
 */
export interface BatchWriterOptions<Row, Result = unknown> {
  /** Write the rows in one transaction; resolve after COMMIT with what the write reports (each row gets it). */
  write(rows: Row[]): Promise<Result>;
  retry: DurableRetry;
  batchSize: number;
  /**
   * Bytes of rows (as given to `add`) one write may carry; a batch closes when the next row would pass it
   * (a row larger than this goes alone). Bounds the statement's parameters, which the driver copies once
   * more: 500 rows of 100 KB arguments would be 50 MB, twice. Unset: rows only.
   */
  maxBatchBytes?: number;
  waitMs: number;
  /** Batches written at once (keep below the pool size, leaving a connection for other queries). */
  concurrency: number;
  /** Names a row in the CLOSED error of a row abandoned at shutdown. */
  describe(row: Row): string;
}

interface Entry<Row, Result> {
  row: Row;
  bytes: number;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/** A row the database refused: what its promise rejects with. */
class Refused {
  constructor(readonly error: unknown) {}
}

/** A batch being written: what each of its rows comes to, handed out once every earlier batch's was. */
interface Written<Row, Result> {
  done: boolean;
  /** Per row: the committed write's report (one object shared by a batch's rows), or Refused. */
  outcomes: (Result | Refused)[];
  entries: readonly Entry<Row, Result>[];
}

export class BatchWriter<Row, Result = unknown> {
  private queue: Entry<Row, Result>[] = [];
  private queuedBytes = 0;
  private writing = 0;
  /** The batches being written, oldest first. */
  private readonly order: Written<Row, Result>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private due = false;
  private immediate = false;
  private idleWaiters: (() => void)[] = [];
  private readonly abort = new AbortController();
  /** Writes committed so far. */
  batches = 0;

  constructor(private readonly options: BatchWriterOptions<Row, Result>) {}

  /** Rows waiting or being written. */
  get pending(): number {
    return this.queue.length + this.writing;
  }

  /**
   * Resolves once the row is committed, with the report of the write that committed it (`write`'s result);
   * rejects with the database's error when it refuses this row. `bytes`: its size, for `maxBatchBytes`.
   */
  add(row: Row, bytes = 0): Promise<Result> {
    if (this.abort.signal.aborted) return Promise.reject(this.closed(row));
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ row, bytes, resolve, reject });
      this.queuedBytes += bytes;
      if (this.full() || this.options.waitMs === 0) this.pump();
      else if (this.writing === 0) {
        if (!this.immediate) {
          this.immediate = true;
          queueMicrotask(this.onTimer);
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

  /** Stop retrying: reject every pending row (their messages are given back or return to the queue). */
  abandon(): void {
    this.abort.abort();
    clearTimeout(this.timer);
    const queued = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const entry of queued) entry.reject(this.closed(entry.row));
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
    const { concurrency, waitMs } = this.options;
    while (this.writing < concurrency && this.queue.length > 0 && (this.due || this.full() || waitMs === 0)) {
      const batch = this.take();
      const written: Written<Row, Result> = { done: false, outcomes: [], entries: batch };
      this.order.push(written);
      this.writing += 1;
      void this.write(batch, written.outcomes).finally(() => {
        written.done = true;
        this.handOut();
        this.writing -= 1;
        this.pump();
        this.checkIdle();
      });
    }
    if (this.queue.length === 0) {
      this.due = false;
      clearTimeout(this.timer);
      this.timer = undefined;
    } else if (this.writing < concurrency && !this.due) {
      this.timer ??= setTimeout(this.onTimer, waitMs);
    }
  }

  /** A batch's worth of rows queued: `batchSize` rows, or `maxBatchBytes`. */
  private full(): boolean {
    const { batchSize, maxBatchBytes = Number.POSITIVE_INFINITY } = this.options;
    return this.queue.length >= batchSize || this.queuedBytes >= maxBatchBytes;
  }

  /** The next batch: up to `batchSize` rows and `maxBatchBytes` (at least one row). */
  private take(): Entry<Row, Result>[] {
    const { batchSize, maxBatchBytes = Number.POSITIVE_INFINITY } = this.options;
    let count = 0;
    let bytes = 0;
    while (
      count < this.queue.length &&
      count < batchSize &&
      (count === 0 || bytes + this.queue[count]!.bytes <= maxBatchBytes)
    ) {
      bytes += this.queue[count]!.bytes;
      count += 1;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, count);
  }

  /** Settle the rows of every finished batch that no unfinished batch precedes. */
  private handOut(): void {
    while (this.order[0]?.done) {
      const { entries, outcomes } = this.order.shift()!;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        const outcome = outcomes[i]!;
        if (outcome instanceof Refused) entry.reject(outcome.error);
        else entry.resolve(outcome);
      }
    }
  }

  /**
   * One batch, and only it: a refused row is found by writing this batch's rows one by one. Fills
   * `outcomes` (one per row: the write's report or Refused); `handOut` settles the rows' promises.
   */
  private async write(batch: Entry<Row, Result>[], outcomes: (Result | Refused)[]): Promise<void> {
    try {
      const report = await this.commit(batch.map((entry) => entry.row));
      for (let i = 0; i < batch.length; i++) outcomes.push(report);
    } catch (error) {
      if (!isRowError(error) || batch.length === 1) {
        const refused = new Refused(error);
        for (let i = 0; i < batch.length; i++) outcomes.push(refused);
        return;
      }
      for (const entry of batch) {
        try {
          outcomes.push(await this.commit([entry.row]));
        } catch (rowError) {
          outcomes.push(new Refused(rowError));
        }
      }
    }
  }

  private async commit(rows: Row[]): Promise<Result> {
    const report = await this.options.retry.run(() => this.options.write(rows), this.abort.signal);
    this.batches += 1;
    return report;
  }

  private closed(row: Row): ToolboxError {
    return new ToolboxError("CLOSED", `${this.options.describe(row)} not stored: closing.`);
  }

  private checkIdle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
