import {
  brokerUrls,
  entityNames,
  maskUrl,
  planTopology,
  requireDatabaseUrl,
  type ToolboxConfig,
} from "@worker-toolbox/config";

/**
 * The Celery settings that make a Python producer or worker join the toolbox's topology — the same
 * exchange, the service queues with exactly the planned arguments (a queue declared with other arguments
 * is drift and the broker refuses it), routing key = task name, JSON only, late acks, the PostgreSQL result
 * backend. Built from `planTopology`, so it cannot disagree with what TypeScript producers and workers
 * declare. docs/interop.md explains every setting.
 */
export interface CeleryQueue {
  name: string;
  exchange: string;
  exchange_type: "topic";
  /** The binding key, `<service>.#`. */
  routing_key: string;
  durable: true;
  queue_arguments: Record<string, string | number>;
}

/** JSON form of one route: `routing_key` "$task_name" stands for the task's own name. */
export interface CeleryRoute {
  queue: string;
  exchange: string;
  exchange_type: "topic";
  routing_key: "$task_name";
}

export interface CelerySettings {
  broker_url: string;
  result_backend: string;
  task_default_exchange: string;
  task_default_exchange_type: "topic";
  task_default_queue: string;
  task_default_routing_key: string;
  task_queues: CeleryQueue[];
  task_routes: Record<string, CeleryRoute>;
  task_create_missing_queues: false;
  task_serializer: "json";
  result_serializer: "json";
  accept_content: ["json"];
  result_accept_content: ["json"];
  task_acks_late: true;
  task_reject_on_worker_lost: true;
  /** What the TypeScript workers do (worker.trackStarted), so both languages write the same states. */
  task_track_started: boolean;
  /** database.resultExtended: args and kwargs (and Python's name, worker, retries, queue) in the result row. */
  result_extended: boolean;
  database_table_schemas: { task: string; group: string };
  worker_prefetch_multiplier: number;
  /** Keeps `celery inspect`/`control` of one environment away from another sharing the broker. */
  control_exchange: string;
  event_exchange: string;
  /** Python workers send task events when TypeScript workers do (worker.events; Celery's `-E`). */
  worker_send_task_events: boolean;
  broker_connection_retry_on_startup: true;
  /** Celery >= 5.5: per-consumer prefetch on quorum queues (the python format patches older Celery). */
  worker_detect_quorum_queues: true;
}

export function celerySettings(
  config: ToolboxConfig,
  services: readonly string[],
  options: { showSecrets?: boolean } = {},
): CelerySettings {
  const names = entityNames(config.environment.prefix);
  const secret = (url: string) => (options.showSecrets ? url : maskUrl(url));
  const taskQueues = services.map((service) => serviceQueue(config, service));
  const first = taskQueues[0]!;
  return {
    // Celery takes a cluster's nodes as one broker_url separated by semicolons, and fails over across them.
    broker_url: secret(brokerUrls(config).join(";")),
    result_backend: secret(
      `db+${requireDatabaseUrl(config, "celery-config (result_backend)").replace(/^postgres(ql)?:/, "postgresql:")}`,
    ),
    task_default_exchange: names.exchange,
    task_default_exchange_type: "topic",
    task_default_queue: first.name,
    task_default_routing_key: first.routing_key,
    task_queues: taskQueues,
    task_routes: Object.fromEntries(
      services.map((service) => [
        `${service}.*`,
        {
          queue: names.serviceQueue(service),
          exchange: names.exchange,
          exchange_type: "topic" as const,
          routing_key: "$task_name" as const,
        },
      ]),
    ),
    task_create_missing_queues: false,
    task_serializer: "json",
    result_serializer: "json",
    accept_content: ["json"],
    result_accept_content: ["json"],
    task_acks_late: true,
    task_reject_on_worker_lost: true,
    task_track_started: config.worker.trackStarted,
    result_extended: config.database.resultExtended,
    database_table_schemas: { task: config.database.schema, group: config.database.schema },
    // Celery multiplies it by the concurrency; the toolbox's prefetch is per process.
    worker_prefetch_multiplier: Math.max(1, Math.floor(config.worker.prefetch / config.worker.concurrency)),
    control_exchange: names.celeryControl,
    event_exchange: names.eventExchange,
    worker_send_task_events: config.worker.events,
    broker_connection_retry_on_startup: true,
    worker_detect_quorum_queues: true,
  };
}

/** A service's queue as the plan declares it. */
export function serviceQueue(config: ToolboxConfig, service: string): CeleryQueue {
  const names = entityNames(config.environment.prefix);
  const plan = planTopology(config, [service]);
  const queue = plan.queues.find((item) => item.name === names.serviceQueue(service));
  const binding = plan.bindings.find((item) => item.queue === names.serviceQueue(service));
  if (!queue || !binding) throw new Error(`planTopology planned no queue for service ${service}`);
  return {
    name: queue.name,
    exchange: binding.exchange,
    exchange_type: "topic",
    routing_key: binding.routingKey,
    durable: true,
    queue_arguments: queue.arguments,
  };
}

/**
 * The service queue of any service, as a template for the Python router: the queue name and binding key
 * around the service name, and the arguments that do not depend on it. Derived from two probe plans, so a
 * plan that starts naming the service anywhere else fails here instead of printing a wrong queue.
 */
export function serviceQueueTemplate(config: ToolboxConfig): {
  namePrefix: string;
  bindingSuffix: string;
  arguments: Record<string, string | number>;
  /** Arguments whose value is the service name. */
  serviceArguments: string[];
} {
  const [a, b] = [serviceQueue(config, "probe-a"), serviceQueue(config, "probe-b")];
  const fixed: Record<string, string | number> = {};
  const serviceArguments: string[] = [];
  for (const [key, value] of Object.entries(a.queue_arguments)) {
    if (value === "probe-a" && b.queue_arguments[key] === "probe-b") serviceArguments.push(key);
    else if (value === b.queue_arguments[key]) fixed[key] = value;
    else throw new Error(`queue argument ${key} depends on the service in a way celery-config cannot print`);
  }
  if (!a.name.endsWith("probe-a") || !a.routing_key.startsWith("probe-a"))
    throw new Error("the service queue name or binding no longer has the shape celery-config prints");
  return {
    namePrefix: a.name.slice(0, -"probe-a".length),
    bindingSuffix: a.routing_key.slice("probe-a".length),
    arguments: fixed,
    serviceArguments,
  };
}
