import type { Delivery } from "../delivery/delivery.js";
import type { DeliveryObserver } from "../delivery/extensions.js";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import type { HeldTask } from "./inspectReplies.js";

/** What the worker remembers of one delivery it holds, beyond what `inspect` shows. */
export interface HeldEntry extends HeldTask {
  /** When it was received (ms since the epoch). */
  receivedAt: number;
  /** Set when a `revoke(terminate=True)` fired its abort signal. */
  terminated?: { signum: number };
}

/**
 * The tasks a worker holds, from `received` until `settled`: waiting for a handler slot (Celery's
 * "reserved") or running ("active", `startedAt` set). Fed by the delivery pipeline as a DeliveryObserver;
 * read by remote control (`inspect active/reserved/query_task`, `revoke(terminate=True)`) and by the task
 * events (runtime, terminated).
 */
export class HeldTasks implements Required<DeliveryObserver> {
  private readonly entries = new Map<Delivery, HeldEntry>();

  constructor(private readonly now: () => number = Date.now) {}

  received(task: TaskMessage, delivery: Delivery): void {
    const { fields, properties } = delivery.message;
    this.entries.set(delivery, {
      id: task.id,
      name: task.task,
      args: task.args,
      kwargs: task.kwargs,
      exchange: fields.exchange,
      routingKey: fields.routingKey,
      priority: properties.priority ?? task.priority,
      redelivered: fields.redelivered,
      receivedAt: this.now(),
    });
  }

  started(_task: TaskMessage, delivery: Delivery): void {
    const entry = this.entries.get(delivery);
    if (entry) entry.startedAt = this.now();
  }

  settled(_verdict: unknown, delivery: Delivery): void {
    this.entries.delete(delivery);
  }

  get(delivery: Delivery): HeldEntry | undefined {
    return this.entries.get(delivery);
  }

  list(): HeldEntry[] {
    return [...this.entries.values()];
  }

  /** Mark the running copies of `taskId` as terminated (their signal is fired by the caller); their ids. */
  markTerminated(taskId: string, signum: number): boolean {
    let found = false;
    for (const entry of this.entries.values()) {
      if (entry.id !== taskId || entry.startedAt === undefined) continue;
      entry.terminated = { signum };
      found = true;
    }
    return found;
  }
}
