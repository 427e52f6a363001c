import { loadavg } from "node:os";

/**
 * Celery's monitoring events (celery/events/event.py, celery/worker/heartbeat.py, celery/worker/request.py),
 * so `celery events`, Flower and any Celery event receiver see TypeScript workers and their tasks. Pure:
 * building the events and the message that carries them; the worker publishes them.
 *
 * On the wire (captured from Celery 5.2.6): JSON on the topic exchange `event_exchange` (celery-config
 * prints `<prefix>.celeryev`), transient (delivery mode 1), header `hostname`; routing key = the type with
 * `-` turned into `.` (`worker.heartbeat`). Task events are buffered and sent as a list under `task.multi`,
 * as Celery's worker does; receivers handle both forms. Every event starts with `hostname`, `utcoffset`
 * (hours west of UTC, Python's `time.timezone // 3600`), `pid`, `clock` (a Lamport clock) and ends with
 * `timestamp` (seconds) and `type`.
 *
 * Worker events carry Celery's fields (`freq`, `active`, `processed`, `loadavg`, `sw_ident`, `sw_ver`,
 * `sw_sys`) and the toolbox's: `wt_service`, `wt_version` and `wt_tasks` (the task names and versions the
 * worker implements), which the dashboard's fleet view reads. Celery's receivers keep unknown fields.
 */
export type WorkerEventType = "worker-online" | "worker-heartbeat" | "worker-offline";
export type TaskEventType =
  | "task-received"
  | "task-started"
  | "task-succeeded"
  | "task-failed"
  | "task-retried"
  | "task-revoked"
  | "task-rejected";

export interface CeleryEvent {
  hostname: string;
  utcoffset: number;
  pid: number;
  clock: number;
  timestamp: number;
  type: WorkerEventType | TaskEventType;
  [field: string]: unknown;
}

/** Fields of each task event beyond `uuid`, as Celery's worker sends them. */
export interface TaskEventFields {
  "task-received": {
    name: string;
    /** `argsrepr` / `kwargsrepr`: Python reprs. */
    args: string;
    kwargs: string;
    root_id: string | null;
    parent_id: string | null;
    retries: number;
    eta: string | null;
    expires: string | null;
  };
  "task-started": Record<string, never>;
  /** `result` is the repr of the return value; `runtime` in seconds. */
  "task-succeeded": { result: string; runtime: number };
  /** `exception` is a repr such as `ValueError('bad')`. */
  "task-failed": { exception: string; traceback: string };
  "task-retried": { exception: string; traceback: string };
  "task-revoked": { terminated: boolean; signum: number | null; expired: boolean };
  "task-rejected": { requeue: boolean };
}

export interface WorkerEventFields {
  /** Seconds between heartbeats. */
  freq: number;
  /** Tasks running now. */
  active: number;
  /** Tasks finished since start. */
  processed: number;
  sw_ident: string;
  sw_ver: string;
  sw_sys: string;
  wt_service: string;
  wt_version: string;
  wt_tasks: { name: string; version: number | null }[];
}

/** Numbers a worker's events share: who sends, and the clock. */
export class EventSource {
  private clock = 0;
  constructor(
    readonly hostname: string,
    readonly pid: number = process.pid,
    private readonly now: () => number = Date.now,
  ) {}

  /** Advance the Lamport clock past a clock seen in a received message. */
  adjust(seen: number): void {
    if (Number.isFinite(seen) && seen > this.clock) this.clock = Math.floor(seen);
  }

  /** The current clock value, then one step forward (Celery's `clock.forward()`). */
  forward(): number {
    this.clock += 1;
    return this.clock;
  }

  event(type: CeleryEvent["type"], fields: Record<string, unknown>): CeleryEvent {
    const timestamp = this.now() / 1_000;
    return {
      hostname: this.hostname,
      utcoffset: utcoffset(new Date(this.now())),
      pid: this.pid,
      clock: this.forward(),
      ...fields,
      timestamp,
      type,
    };
  }

  task<T extends TaskEventType>(type: T, uuid: string, fields: TaskEventFields[T]): CeleryEvent {
    return this.event(type, { uuid, ...fields });
  }

  worker(type: WorkerEventType, fields: WorkerEventFields): CeleryEvent {
    const { freq, active, processed, sw_ident, sw_ver, sw_sys, ...toolbox } = fields;
    const load = loadavg().map((n) => Math.round(n * 100) / 100);
    return this.event(type, { freq, active, processed, loadavg: load, sw_ident, sw_ver, sw_sys, ...toolbox });
  }
}

/** Python's `time.timezone // 3600` (or `altzone` in summer): hours west of UTC, floored. */
export function utcoffset(at: Date): number {
  return Math.floor(at.getTimezoneOffset() / 60);
}

export interface EventMessage {
  routingKey: string;
  content: Buffer;
  properties: {
    contentType: "application/json";
    contentEncoding: "utf-8";
    deliveryMode: 1;
    headers: { hostname: string };
  };
}

/** One event under its own routing key, or a list of task events under `task.multi`. */
export function eventMessage(events: CeleryEvent | readonly CeleryEvent[]): EventMessage {
  const list = Array.isArray(events);
  const first = (list ? events[0] : events) as CeleryEvent | undefined;
  if (!first) throw new Error("eventMessage needs at least one event");
  return {
    routingKey: list ? "task.multi" : first.type.replace(/-/g, "."),
    content: Buffer.from(JSON.stringify(events)),
    properties: {
      contentType: "application/json",
      contentEncoding: "utf-8",
      deliveryMode: 1,
      headers: { hostname: first.hostname },
    },
  };
}
