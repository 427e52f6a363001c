/**
 * Celery's worker events, written and read in one place: `worker-online`, `worker-heartbeat` and
 * `worker-offline` on the event exchange (`entityNames(prefix).eventExchange`, topic, durable), routing key
 * = the type with `-` as `.` (`worker.heartbeat`), a JSON body (one event, or a list of events when Celery
 * flushes a buffered group). Field names are Celery's (celery/worker/heartbeat.py, celery/events/event.py),
 * so `celery events`, Flower and this module read Python and TypeScript workers alike. A toolbox worker adds
 * the `wt_*` fields below: its service, toolbox version, the task names (with versions) it implements and
 * its concurrency. Python workers leave them out.
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

/** The body of a worker event, Celery's field names plus the toolbox's `wt_*` ones. */
export function encodeWorkerEvent(event: WorkerEvent): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: event.type,
    hostname: event.hostname,
    timestamp: event.timestamp,
    utcoffset: -new Date(event.timestamp * 1_000).getTimezoneOffset() / 60,
    freq: event.freq,
    active: event.active,
    processed: event.processed,
    pid: event.pid,
    loadavg: event.loadavg,
    sw_ident: event.swIdent,
    sw_ver: event.swVer,
    sw_sys: event.swSys,
    wt_service: event.service,
    wt_toolbox_version: event.toolboxVersion,
    wt_tasks: event.tasks,
    wt_concurrency: event.concurrency,
  };
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  return body;
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
