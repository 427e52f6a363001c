import { ToolboxError } from "@worker-toolbox/config";
import { encodeOutcome } from "../results/encodeOutcome.js";
import { familyStatus, type ResultRow, resultFromRow, type TaskView, view } from "../results/readResults.js";
import type { TaskOutcome, WriteSummary } from "../results/resultTypes.js";
import { FINAL_STATES } from "../results/sqlNames.js";
import type { ResultReader } from "./resultReader.js";

const isFinal = (status: string) => (FINAL_STATES as readonly string[]).includes(status);

/**
 * Results in memory, for the in-process runner without a database. Each outcome is encoded as the result
 * store encodes it for `celery_taskmeta` (so a value PostgreSQL would refuse is refused here too, with the
 * same MESSAGE_NOT_SERIALIZABLE), kept as the row the upsert would leave (a higher generation replaces the
 * row, a lower one never writes; within a generation a final row never changes and a non-final one from an
 * older attempt does not replace a newer one) and read back through the same
 * `resultFromRow` as the database reader: one value model either way.
 */
export class MemoryResults implements ResultReader {
  private readonly rows = new Map<string, ResultRow>();
  private waiters: (() => void)[] = [];

  constructor(private readonly workerName: string) {}

  async writeMany(outcomes: readonly TaskOutcome[]): Promise<WriteSummary> {
    // Per task, the outcome its row holds after this write (a later one that changed it replaces an earlier).
    const held = new Map<string, TaskOutcome>();
    const stored = (outcome: TaskOutcome) => held.get(outcome.taskId) === outcome;
    const summary: WriteSummary = { written: [], unchanged: [], stored };
    for (const outcome of outcomes) {
      const changed = this.upsert(outcome);
      (changed ? summary.written : summary.unchanged).push(outcome.taskId);
      if (changed) held.set(outcome.taskId, outcome);
    }
    if (summary.written.length > 0) this.wake();
    return summary;
  }

  async hasSucceeded(taskId: string, generation = 0): Promise<boolean> {
    const row = this.rows.get(taskId);
    return row?.status === "SUCCESS" && row.generation >= generation;
  }

  async getTask(taskId: string): Promise<TaskView> {
    const row = this.rows.get(taskId);
    return view(taskId, null, row ? resultFromRow(row) : null);
  }

  async getFamily(rootId: string) {
    const tasks = [...this.rows.values()]
      .filter((row) => row.root_id === rootId || row.task_id === rootId)
      .filter((row) => row.name !== "celery.chord_unlock")
      .map((row) => view(row.task_id, null, resultFromRow(row)));
    return { rootId, status: familyStatus(tasks.map((task) => task.status)), tasks };
  }

  async waitForResult(taskId: string, options: { timeoutMs: number; signal?: AbortSignal }) {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const task = await this.getTask(taskId);
      if (isFinal(task.status)) return task;
      options.signal?.throwIfAborted();
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ToolboxError(
          "RESULT_TIMEOUT",
          `Task ${taskId} did not finish within ${options.timeoutMs} ms (last status ${task.status}, in memory).`,
          { hint: "was it sent to this in-process runner? `await producer.idle()` runs what is queued" },
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The row as the SQL upsert in resultStore.ts would leave it; false when it stays as it was. */
  private upsert(outcome: TaskOutcome): boolean {
    const encoded = encodeOutcome(outcome, this.workerName);
    const held = this.rows.get(outcome.taskId);
    if (held && encoded.generation < held.generation) return false;
    const newer = held !== undefined && encoded.generation > held.generation;
    if (held && !newer && isFinal(held.status)) return false;
    if (held && !newer && !isFinal(encoded.status) && (encoded.retries ?? 0) < (held.retries ?? 0))
      return false;
    const now = new Date();
    // As pg hands jsonb over: parsed JSON, markers revived by resultFromRow.
    const json = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
    this.rows.set(outcome.taskId, {
      task_id: encoded.taskId,
      status: encoded.status as ResultRow["status"],
      result_json: json(encoded.resultJson),
      meta: json(encoded.meta) ?? (newer ? null : held?.meta) ?? null,
      error: json(encoded.error) as ResultRow["error"],
      traceback: encoded.traceback,
      // The pickle is Celery's copy; TypeScript readers read the JSON columns (as from the database).
      result: null,
      date_done: now,
      started_at: (newer ? null : held?.started_at) ?? (encoded.status === "STARTED" ? now : null),
      updated_at: now,
      worker: this.workerName,
      retries: encoded.retries ?? held?.retries ?? null,
      name: encoded.name ?? held?.name ?? null,
      parent_id: encoded.parentId ?? held?.parent_id ?? null,
      root_id: encoded.rootId ?? held?.root_id ?? null,
      generation: encoded.generation,
      replayed_at: newer ? now : (held?.replayed_at ?? null),
    });
    return true;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
