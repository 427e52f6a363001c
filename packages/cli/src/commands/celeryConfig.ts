import {
  entityNames,
  maskUrl,
  planTopology,
  RESERVED_SERVICE_NAMES,
  SERVICE_NAME_PATTERN,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import type { Argv, CommandModule } from "yargs";
import { type CommandContext, type GlobalOptions, servicesFrom } from "../context.js";
import { json } from "../output.js";

/**
 * `worker-toolbox celery-config`: the Celery settings that make a Python producer or worker join the
 * toolbox's topology — the same exchange, the service queues with exactly the planned arguments (a queue
 * declared with other arguments is drift and the broker refuses it), routing key = task name, JSON only,
 * late acks, and the PostgreSQL result backend. Built from `planTopology`, so it cannot disagree with
 * what TypeScript producers and workers declare.
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

export interface CelerySettings {
  broker_url: string;
  result_backend: string;
  task_default_exchange: string;
  task_default_exchange_type: "topic";
  task_default_queue: string;
  task_default_routing_key: string;
  task_queues: CeleryQueue[];
  /** JSON form of the Python router: `routing_key` "$task_name" stands for the task's own name. */
  task_routes: Record<string, { exchange: string; exchange_type: "topic"; routing_key: "$task_name" }>;
  task_create_missing_queues: false;
  task_serializer: "json";
  result_serializer: "json";
  accept_content: ["json"];
  result_accept_content: ["json"];
  task_acks_late: true;
  task_reject_on_worker_lost: true;
  task_track_started: true;
  result_extended: true;
  database_table_schemas: { task: string; group: string };
  worker_prefetch_multiplier: number;
  /** Keeps `celery inspect`/`control` of one environment away from another sharing the broker. */
  control_exchange: string;
  event_exchange: string;
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
  const plan = planTopology(config, services);
  const secret = (url: string) => (options.showSecrets ? url : maskUrl(url));
  const taskQueues = services.map((service): CeleryQueue => {
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
  });
  const first = taskQueues[0]!;
  return {
    broker_url: secret(config.broker.url),
    result_backend: secret(`db+${config.database.url.replace(/^postgres(ql)?:/, "postgresql:")}`),
    task_default_exchange: names.exchange,
    task_default_exchange_type: "topic",
    task_default_queue: first.name,
    task_default_routing_key: first.routing_key,
    task_queues: taskQueues,
    task_routes: Object.fromEntries(
      services.map((service) => [
        `${service}.*`,
        { exchange: names.exchange, exchange_type: "topic" as const, routing_key: "$task_name" as const },
      ]),
    ),
    task_create_missing_queues: false,
    task_serializer: "json",
    result_serializer: "json",
    accept_content: ["json"],
    result_accept_content: ["json"],
    task_acks_late: true,
    task_reject_on_worker_lost: true,
    task_track_started: true,
    result_extended: true,
    database_table_schemas: { task: config.database.schema, group: config.database.schema },
    // Celery multiplies it by the concurrency; the toolbox's prefetch is per process.
    worker_prefetch_multiplier: Math.max(1, Math.floor(config.worker.prefetch / config.worker.concurrency)),
    control_exchange: `${config.environment.prefix}.celery`,
    event_exchange: `${config.environment.prefix}.celeryev`,
    broker_connection_retry_on_startup: true,
    worker_detect_quorum_queues: true,
  };
}

/** A Python literal for plain JSON data (dicts, lists, strings, numbers, booleans, null). */
function py(value: unknown, indent = ""): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => `${inner}${py(item, inner)},`).join("\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${py(item, inner)},`).join("\n")}\n${indent}}`;
}

// Quorum queues refuse global QoS (540 NOT_IMPLEMENTED on basic.consume), which Celery before 5.5 always
// asks RabbitMQ >= 3.3 for (celery/worker/consumer/tasks.py: qos_global = not qos_semantics_matches_spec).
// Celery 5.5 added worker_detect_quorum_queues; for older ones the module makes kombu report per-consumer
// QoS, the same thing 5.5 does once it sees a quorum queue.
const QUORUM_QOS_SHIM = [
  "",
  "# Quorum queues refuse global QoS, which Celery < 5.5 requests; 5.5+ handles it (worker_detect_quorum_queues).",
  "import celery as _celery  # noqa: E402",
  "",
  "if _celery.VERSION < (5, 5):",
  "    from kombu.transport import pyamqp as _pyamqp",
  "",
  "    _pyamqp.Transport.qos_semantics_matches_spec = lambda self, connection: True",
];

/** A module for `app.config_from_object(...)`. */
export function renderPython(
  settings: CelerySettings,
  config: ToolboxConfig,
  services: readonly string[],
): string {
  const { task_queues, task_routes, ...plain } = settings;
  const queues = task_queues
    .map(
      (queue) =>
        `    Queue(\n        ${JSON.stringify(queue.name)},\n        exchange=task_exchange,\n` +
        `        routing_key=${JSON.stringify(queue.routing_key)},\n        durable=True,\n` +
        `        queue_arguments=${py(queue.queue_arguments, "        ")},\n    ),`,
    )
    .join("\n");
  const reserved = RESERVED_SERVICE_NAMES.map((name) => JSON.stringify(name)).join(", ");
  // SERVICE_NAME_PATTERN without its anchors, then `.<task>[.v<N>]` as in taskNameProblem.
  const service = SERVICE_NAME_PATTERN.source.replace(/^\^|\$$/g, "");
  return [
    `# Celery settings for service(s) ${services.join(", ")} in environment "${config.environment.prefix}".`,
    "# Generated by `worker-toolbox celery-config`; regenerate instead of editing, so Python and TypeScript",
    "# declare the same topology. Load with: app.config_from_object(<this module>)",
    ...(settings.broker_url.includes("***")
      ? ["# Secrets are masked: set broker_url/result_backend from the environment, or pass --show-secrets."]
      : []),
    "import re",
    "",
    "from kombu import Exchange, Queue",
    "",
    ...Object.entries(plain).map(([key, value]) => `${key} = ${py(value)}`),
    "",
    `task_exchange = Exchange(${JSON.stringify(settings.task_default_exchange)}, type="topic", durable=True)`,
    "",
    `task_queues = (\n${queues}\n)`,
    "",
    `_TASK_NAME = re.compile(r"^(${service})\\.[A-Za-z][A-Za-z0-9_]*(\\.v[1-9][0-9]*)?$")`,
    `_RESERVED = {${reserved}}`,
    "",
    "",
    "def route_by_task_name(name, args, kwargs, options, task=None, **kw):",
    `    """Publish every toolbox task (${Object.keys(task_routes).join(", ")}, ...) to the topic exchange`,
    '    with routing key = task name: its service queue (<service>.#) and the platform queue (#) get it."""',
    "    match = _TASK_NAME.match(name)",
    "    if match and match.group(1) not in _RESERVED:",
    `        return {"exchange": ${JSON.stringify(settings.task_default_exchange)}, "exchange_type": "topic", "routing_key": name}`,
    "    return None",
    "",
    "",
    "task_routes = (route_by_task_name,)",
    ...(config.queue.type === "quorum" ? QUORUM_QOS_SHIM : []),
    "",
  ].join("\n");
}

/** `worker-toolbox celery-config --service <name> [--format python|json] [--show-secrets]` */
export function celeryConfigCommand(ctx: CommandContext): CommandModule {
  return {
    command: "celery-config",
    describe: "Print the Celery settings that make a Python producer or worker join the same topology",
    builder: (yargs: Argv) =>
      yargs
        .option("format", {
          choices: ["python", "json"] as const,
          default: "python" as const,
          describe:
            'python: a module for app.config_from_object; json: the same data (routing_key "$task_name" = the task\'s name)',
        })
        .option("show-secrets", {
          type: "boolean",
          default: false,
          describe: "Print broker_url and result_backend with their passwords",
        })
        .example("$0 celery-config --service export > celeryconfig.py", "settings for a Python export worker")
        .example("$0 celery-config --service export --format json", "the same as JSON"),
    handler: (argv) => {
      const args = argv as unknown as GlobalOptions & { format: "python" | "json"; showSecrets: boolean };
      const config = ctx.loadConfig(args);
      const services = servicesFrom(args, config);
      if (services.length === 0) {
        ctx.warn("celery-config needs a service: pass --service <name> (or set WT_SERVICE).");
        ctx.fail(2);
        return;
      }
      const settings = celerySettings(config, services, { showSecrets: args.showSecrets });
      ctx.print(args.format === "json" ? json(settings) : renderPython(settings, config, services).trimEnd());
    },
  };
}
