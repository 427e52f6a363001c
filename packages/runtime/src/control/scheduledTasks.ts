import type { HeldTask } from "./inspectReplies.js";

/** A task this worker parked in a delay rung until its eta (or its retry's countdown). */
export interface ScheduledTask extends HeldTask {
  /** When it is due (ms since the epoch). */
  eta: number;
  /** When the rung gives it back to the service queue (ms): then any worker of the service may take it. */
  until: number;
}

/** At most this many are remembered (the most recently parked); a worker never holds the messages themselves. */
export const SCHEDULED_LIST_LIMIT = 10_000;

/**
 * What `inspect scheduled` lists. A Celery worker holds an ETA task in memory until it is due; ours hands it
 * back to the broker at once (a delay rung: nothing waits unacknowledged in a worker). So the worker keeps a
 * note of each task it parked — id, name, arguments, eta — for as long as the rung holds it. When the rung
 * gives it back, it leaves this list (and enters the list of the worker that parks it again, or runs it).
 * Across the workers of a service each waiting task is listed once, by the worker that parked it last.
 */
export class ScheduledTasks {
  /** By task id, in the order they were parked (Map order), so the oldest notes go first past the limit. */
  private readonly entries = new Map<string, ScheduledTask>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limit = SCHEDULED_LIST_LIMIT,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The broker confirmed the park: listed until `until`. */
  parked(task: HeldTask, eta: number, until: number): void {
    this.entries.delete(task.id);
    this.entries.set(task.id, { ...task, startedAt: undefined, eta, until });
    if (this.entries.size > this.limit) this.prune();
  }

  /** The task came back to this worker (to run, or to be parked again). */
  arrived(taskId: string): void {
    if (this.entries.size > 0) this.entries.delete(taskId);
  }

  /** What is still parked, soonest eta first. */
  list(): ScheduledTask[] {
    this.prune();
    return [...this.entries.values()].sort((a, b) => a.eta - b.eta);
  }

  /** Drop what a rung has given back; past the limit, the oldest notes. */
  private prune(): void {
    const now = this.now();
    for (const [id, entry] of this.entries) if (entry.until <= now) this.entries.delete(id);
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.limit) break;
      this.entries.delete(id);
    }
  }
}
