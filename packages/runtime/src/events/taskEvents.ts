import type { Delivery } from "../delivery/delivery.js";
import type { DeliveryObserver } from "../delivery/extensions.js";
import type { Verdict } from "../delivery/verdict.js";
import type { TaskEventFields, TaskEventType } from "../protocol/celeryEvents.js";
import type { TaskMessage } from "../protocol/celeryMessage.js";
import { argsRepr, kwargsRepr, pythonRepr } from "../protocol/repr.js";

/** Where task events go (WorkerEvents buffers them into `task.multi` lists, as Celery does). */
export interface TaskEventSink {
  task<T extends TaskEventType>(type: T, uuid: string, fields: TaskEventFields[T]): void;
}

/** What the worker knows of a delivery it holds (control/heldTasks.ts). */
export interface HeldInfo {
  startedAt?: number;
  terminated?: { signum: number };
}

/**
 * Celery's task events from the delivery pipeline's stages, in Celery 5.2's format:
 *
 *   received (admitted to run, or to wait for its eta)  ─► task-received
 *   started (the handler starts)                        ─► task-started
 *   settled: SUCCESS ─► task-succeeded   RETRY ─► task-retried   dead-lettered (FAILURE) ─► task-failed
 *            REVOKED ─► task-revoked (`terminated` when revoke(terminate=True) aborted it; `expired`)
 *
 * As in Celery's worker, a task revoked before it reached a worker gets task-revoked without task-received;
 * a message that never decoded, or names a task this worker lacks, gets no task event (it is dead-lettered);
 * a delivery given back at shutdown gets none (it runs again elsewhere). Events are emitted after the
 * verdict's rows and publishes are done, just before the ack: a consumer that sees task-succeeded can read
 * the SUCCESS row.
 */
export function taskEventObserver(
  sink: TaskEventSink,
  held: (delivery: Delivery) => HeldInfo | undefined,
  now: () => number = Date.now,
): DeliveryObserver {
  return {
    received(task, delivery) {
      const headers = delivery.message.properties.headers ?? {};
      sink.task("task-received", task.id, {
        name: task.task,
        // Celery forwards the sender's reprs (`argsrepr` / `kwargsrepr` headers).
        args: typeof headers.argsrepr === "string" ? headers.argsrepr : argsRepr(task.args),
        kwargs: typeof headers.kwargsrepr === "string" ? headers.kwargsrepr : kwargsRepr(task.kwargs),
        root_id: task.rootId,
        parent_id: task.parentId,
        retries: task.retries,
        eta: task.eta?.toISOString() ?? null,
        expires: task.expires?.toISOString() ?? null,
      });
    },
    started(task) {
      sink.task("task-started", task.id, {});
    },
    settled(verdict, delivery) {
      const info = held(delivery);
      const event = settledEvent(verdict, info, now());
      if (!event) return;
      // Only what this worker announced, except a revocation (Celery's worker reports one on arrival too).
      if (!info && event.type !== "task-revoked") return;
      sink.task(event.type, event.task.id, event.fields as never);
    },
  };
}

type SettledEvent = {
  [T in TaskEventType]: { type: T; task: TaskMessage; fields: TaskEventFields[T] };
}[TaskEventType];

function settledEvent(verdict: Verdict, info: HeldInfo | undefined, now: number): SettledEvent | undefined {
  switch (verdict.kind) {
    case "done": {
      const task = verdict.task;
      if (!task) return undefined;
      if (verdict.tally === "succeeded") {
        const runtime = info?.startedAt === undefined ? 0 : (now - info.startedAt) / 1_000;
        return { type: "task-succeeded", task, fields: { result: pythonRepr(verdict.value), runtime } };
      }
      if (verdict.tally !== "revoked") return undefined;
      const terminated = info?.terminated;
      return {
        type: "task-revoked",
        task,
        fields: {
          terminated: terminated !== undefined,
          signum: terminated?.signum ?? null,
          expired: verdict.note?.startsWith("expired") ?? false,
        },
      };
    }
    case "retry":
      return { type: "task-retried", task: verdict.task, fields: failure(verdict.error) };
    case "dead-letter":
      if (!verdict.task) return undefined;
      return { type: "task-failed", task: verdict.task, fields: failure(verdict.error) };
    default:
      return undefined;
  }
}

/** `exception` as Python's repr of the exception (`ValueError('bad')`), `traceback` the stack. */
function failure(error: Error): { exception: string; traceback: string } {
  const name = error.name || "Error";
  return {
    exception: `${name}(${pythonRepr(error.message)})`,
    traceback: error.stack ?? `${name}: ${error.message}`,
  };
}
