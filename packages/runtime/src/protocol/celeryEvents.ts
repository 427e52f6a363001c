import { loadavg, type as osType } from "node:os";

/**
 * Celery's events, written and read in one place (captured from Celery 5.2.6: test/fixtures/celery):
 * `worker-online`, `worker-heartbeat`, `worker-offline` and the task events on the event exchange
 * (`entityNames(prefix).eventExchange`, topic, durable), routing key = the type with `-` as `.`
 * (`worker.heartbeat`), a JSON body (one event, or a list under `task.multi` when a worker flushes its
 * buffered task events), transient, header `hostname`. Every event starts with `hostname`, `utcoffset`
 * (hours west of UTC, Python's `time.timezone // 3600`), `pid`, `clock` (a Lamport clock) and ends with
 * `timestamp` (seconds) and `type`. Field names are Celery's (celery/worker/heartbeat.py,
 * celery/worker/request.py, celery/events/event.py), so `celery events`, Flower and this module read Python
 * and TypeScript workers alike. A toolbox worker adds the `wt_*` fields below: its service, toolbox version,
 * the task names (with versions) it implements and its concurrency. Python workers leave them out.
 */

export type WorkerEventType = "worker-online" | "worker-heartbeat" | "worker-offline";

export interface WorkerEvent {
  type: WorkerEventType;
  /** Celery's node name, e.g. `celery@host` or `export@host`. */
  hostname: string;
  /** Seconds since the epoch, when the worker sent it. */
  timestamp: number;
  /** Seconds between heartbeats. */
  freq: number;
  /** Tasks running now. */
  active: number;
  /** Tasks finished since the worker started. */
  processed: number;
  pid: number | undefined;
  loadavg: number[] | undefined;
  /** `py-celery` for Celery, `worker-toolbox` for ours. */
  swIdent: string | undefined;
  swVer: string | undefined;
  swSys: string | undefined;
  /** Toolbox workers: their service. */
  service: string | undefined;
  /** Toolbox workers: the version of @worker-toolbox/runtime they run. */
  toolboxVersion: string | undefined;
  /** Toolbox workers: every task name (`export.project.v2`) they implement. */
  tasks: string[] | undefined;
  concurrency: number | undefined;
}

/** Options to assert the event exchange with: what Celery's `Exchange(name, type="topic")` declares. */
export const EVENT_EXCHANGE_TYPE = "topic";
export const EVENT_EXCHANGE_OPTIONS = { durable: true, autoDelete: false } as const;
/** Binding key for every worker event (online, heartbeat, offline). */
export const WORKER_EVENTS_KEY = "worker.#";

/** Celery's HEARTBEAT_EXPIRE_WINDOW (200%): a worker is gone after two missed heartbeats. */
const EXPIRE_WINDOW = 2;

/** The routing key Celery publishes an event with. */
export function eventRoutingKey(type: string): string {
  return type.replaceAll("-", ".");
}

/** The body of a worker event: Celery's fields in Celery's order, the toolbox's `wt_*` ones, then `timestamp` and `type`. */
export function encodeWorkerEvent(event: WorkerEvent, clock = 0): Record<string, unknown> {
  const body: Record<string, unknown> = {
    hostname: event.hostname,
    utcoffset: utcoffset(new Date(event.timestamp * 1_000)),
    pid: event.pid,
    clock,
    freq: event.freq,
    active: event.active,
    processed: event.processed,
    loadavg: event.loadavg,
    sw_ident: event.swIdent,
    sw_ver: event.swVer,
    sw_sys: event.swSys,
    wt_service: event.service,
    wt_toolbox_version: event.toolboxVersion,
    wt_tasks: event.tasks,
    wt_concurrency: event.concurrency,
    timestamp: event.timestamp,
    type: event.type,
  };
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  return body;
}

/** Python's `time.timezone // 3600` (or `altzone` in summer): hours west of UTC, floored. */
export function utcoffset(at: Date): number {
  return Math.floor(at.getTimezoneOffset() / 60);
}

/** The events in one message body: Celery sends one object, or a list for a flushed group. */
export function decodeEventBody(content: Buffer): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.toString("utf8"));
  } catch {
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.filter((item): item is Record<string, unknown> => typeof item === "object" && item !== null);
}

/** A worker event from a decoded body, or undefined when it is not one (task events, junk). */
export function decodeWorkerEvent(body: Record<string, unknown>): WorkerEvent | undefined {
  const type = body.type;
  if (type !== "worker-online" && type !== "worker-heartbeat" && type !== "worker-offline") return undefined;
  const hostname = text(body.hostname);
  const timestamp = number(body.timestamp);
  if (!hostname || timestamp === undefined) return undefined;
  const tasks = Array.isArray(body.wt_tasks) ? body.wt_tasks.filter((t) => typeof t === "string") : undefined;
  const loadavg = Array.isArray(body.loadavg) ? body.loadavg.map(Number).filter(Number.isFinite) : undefined;
  return {
    type,
    hostname,
    timestamp,
    freq: number(body.freq) ?? 2,
    active: number(body.active) ?? 0,
    processed: number(body.processed) ?? 0,
    pid: number(body.pid),
    loadavg,
    swIdent: text(body.sw_ident),
    swVer: text(body.sw_ver),
    swSys: text(body.sw_sys),
    service: text(body.wt_service),
    toolboxVersion: text(body.wt_toolbox_version),
    tasks,
    concurrency: number(body.wt_concurrency),
  };
}

/** When a worker that sent `event` counts as gone, in ms since the epoch (Celery's rule). */
export function heartbeatExpiresAt(event: Pick<WorkerEvent, "timestamp" | "freq">): number {
  return (event.timestamp + event.freq * EXPIRE_WINDOW) * 1_000;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function number(value: unknown): number | undefined {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

export type TaskEventType =
  | "task-received"
  | "task-started"
  | "task-succeeded"
  | "task-failed"
  | "task-retried"
  | "task-revoked"
  | "task-rejected";

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

/** An event as sent: the common fields, then the type's own. */
export type CeleryEvent = Record<string, unknown> & { hostname: string; type: string };

/** A worker's events share who sends them and one Lamport clock. */
export class EventSource {
  private clock = 0;
  constructor(
    readonly hostname: string,
    readonly pid: number = process.pid,
    private readonly now: () => number = Date.now,
  ) {}

  /** The clock's value now (the `stats` reply's `clock`). */
  get current(): number {
    return this.clock;
  }

  /** Advance the clock past one seen in a received message. */
  adjust(seen: number): void {
    if (Number.isFinite(seen) && seen > this.clock) this.clock = Math.floor(seen);
  }

  /** One step forward (Celery's `clock.forward()`). */
  forward(): number {
    this.clock += 1;
    return this.clock;
  }

  task<T extends TaskEventType>(type: T, uuid: string, fields: TaskEventFields[T]): CeleryEvent {
    const timestamp = this.now() / 1_000;
    return {
      hostname: this.hostname,
      utcoffset: utcoffset(new Date(this.now())),
      pid: this.pid,
      clock: this.forward(),
      uuid,
      ...fields,
      timestamp,
      type,
    };
  }

  worker(
    type: WorkerEventType,
    fields: Pick<
      WorkerEvent,
      | "freq"
      | "active"
      | "processed"
      | "swIdent"
      | "swVer"
      | "service"
      | "toolboxVersion"
      | "tasks"
      | "concurrency"
    >,
  ): CeleryEvent {
    const event: WorkerEvent = {
      ...fields,
      type,
      hostname: this.hostname,
      timestamp: this.now() / 1_000,
      pid: this.pid,
      loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
      swSys: osType(),
    };
    return encodeWorkerEvent(event, this.forward()) as CeleryEvent;
  }
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

/** One event under its type's routing key, or a list of task events under `task.multi` (Celery's group flush). */
export function eventMessage(events: CeleryEvent | readonly CeleryEvent[]): EventMessage {
  const list = Array.isArray(events);
  const first = (list ? events[0] : events) as CeleryEvent | undefined;
  if (!first) throw new Error("eventMessage needs at least one event");
  return {
    routingKey: list ? "task.multi" : eventRoutingKey(first.type),
    content: Buffer.from(JSON.stringify(events)),
    properties: {
      contentType: "application/json",
      contentEncoding: "utf-8",
      deliveryMode: 1,
      headers: { hostname: first.hostname },
    },
  };
}
