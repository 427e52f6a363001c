import { resourceUsage } from "node:process";
import { splitUrlList } from "@worker-toolbox/config";

/**
 * The shapes of the replies Celery's worker gives to `inspect()` (celery/worker/control.py, captured from
 * Celery 5.2.6), built from what a TypeScript worker knows. `celery inspect`, Flower and
 * `app.control.inspect()` read them like a Python worker's.
 */
export const ok = (value: unknown) => ({ ok: value });
export const nok = (value: string) => ({ error: value });

/** A task a worker holds (running or waiting for a slot), for `active`, `reserved` and `query_task`. */
export interface HeldTask {
  id: string;
  name: string;
  args: unknown;
  kwargs: unknown;
  /** When the handler started (ms); undefined while it waits for a slot. */
  startedAt?: number;
  exchange: string;
  routingKey: string;
  priority: number;
  redelivered: boolean;
}

/** Celery's `Request.info()`. */
export function requestInfo(task: HeldTask, nodeName: string, pid: number) {
  return {
    id: task.id,
    name: task.name,
    args: task.args,
    kwargs: task.kwargs,
    type: task.name,
    hostname: nodeName,
    time_start: task.startedAt === undefined ? null : task.startedAt / 1_000,
    // Late acknowledgement: a task is acknowledged once its outcome is stored.
    acknowledged: false,
    delivery_info: {
      exchange: task.exchange,
      routing_key: task.routingKey,
      priority: task.priority,
      redelivered: task.redelivered,
    },
    worker_pid: task.startedAt === undefined ? null : pid,
  };
}

/**
 * A `scheduled` entry as Celery's `inspect().scheduled()` lists one: the eta as Python's `isoformat()` of an
 * aware datetime, the priority, and the request. (Celery reports its timer's priority, always 6 for an eta;
 * ours is the message's priority, which says more.)
 */
export function scheduledInfo(task: HeldTask & { eta: number }, nodeName: string, pid: number) {
  return {
    eta: pythonIsoformat(task.eta),
    priority: task.priority,
    request: requestInfo(task, nodeName, pid),
  };
}

/** `datetime.isoformat()` of a UTC instant: `2026-12-05T19:45:00.250000+00:00` (no fraction when whole). */
export function pythonIsoformat(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-12-05T19:45:00.250Z
  const fraction = iso.slice(20, 23);
  return `${iso.slice(0, 19)}${fraction === "000" ? "" : `.${fraction}000`}+00:00`;
}

export interface ConsumedQueue {
  name: string;
  exchange: string;
  /** The exchange's type: `topic` (the task exchange) unless said. */
  exchangeType?: string;
  routingKey: string;
  /** null: not known (a queue declared elsewhere, added by `add_consumer`). */
  arguments: Record<string, unknown> | null;
}

/** kombu's `Queue.as_dict(recurse=True)`, for `active_queues`. */
export function queueInfo(queue: ConsumedQueue) {
  return {
    name: queue.name,
    exchange: {
      name: queue.exchange,
      type: queue.exchangeType ?? "topic",
      arguments: null,
      durable: true,
      passive: false,
      auto_delete: false,
      delivery_mode: null,
      no_declare: false,
    },
    routing_key: queue.routingKey,
    queue_arguments: queue.arguments,
    binding_arguments: null,
    consumer_arguments: null,
    durable: true,
    exclusive: false,
    auto_delete: false,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: null,
    message_ttl: null,
    max_length: null,
    max_length_bytes: null,
    max_priority: null,
  };
}

export interface WorkerStatsInput {
  /** Finished tasks per task name. */
  total: Record<string, number>;
  pid: number;
  clock: number;
  uptimeS: number;
  concurrency: number;
  prefetch: number;
  /** `url`: the node in use (a whole list names its first node). */
  broker: { url: string; heartbeatS: number; connectTimeoutMs: number };
  /** Extra fields: the toolbox's (service, version). */
  extra?: Record<string, unknown>;
}

/** The `stats` reply: Celery's fields (what Flower's worker page reads) plus the toolbox's. */
export function workerStats(input: WorkerStatsInput) {
  // The node in use; a cluster's whole list (comma-separated) names its first node.
  const url = new URL(splitUrlList(input.broker.url)[0] ?? input.broker.url);
  const usage = resourceUsage();
  return {
    total: input.total,
    pid: input.pid,
    clock: String(input.clock),
    uptime: Math.floor(input.uptimeS),
    pool: {
      "max-concurrency": input.concurrency,
      processes: [input.pid],
      "max-tasks-per-child": null,
      "put-guarded-by-semaphore": false,
      timeouts: [],
    },
    broker: {
      hostname: url.hostname,
      userid: decodeURIComponent(url.username) || "guest",
      virtual_host: decodeURIComponent(url.pathname.slice(1)) || "/",
      port: Number(url.port) || (url.protocol === "amqps:" ? 5671 : 5672),
      insist: false,
      ssl: url.protocol === "amqps:",
      transport: "amqp",
      connect_timeout: input.broker.connectTimeoutMs / 1_000,
      transport_options: {},
      login_method: "PLAIN",
      uri_prefix: null,
      heartbeat: input.broker.heartbeatS,
      failover_strategy: "round-robin",
      alternates: [],
    },
    prefetch_count: input.prefetch,
    rusage: {
      utime: usage.userCPUTime / 1e6,
      stime: usage.systemCPUTime / 1e6,
      maxrss: usage.maxRSS,
      ixrss: usage.sharedMemorySize,
      idrss: usage.unsharedDataSize,
      isrss: usage.unsharedStackSize,
      minflt: usage.minorPageFault,
      majflt: usage.majorPageFault,
      nswap: usage.swappedOut,
      inblock: usage.fsRead,
      oublock: usage.fsWrite,
      msgsnd: usage.ipcSent,
      msgrcv: usage.ipcReceived,
      nsignals: usage.signalsCount,
      nvcsw: usage.voluntaryContextSwitches,
      nivcsw: usage.involuntaryContextSwitches,
    },
    ...input.extra,
  };
}
