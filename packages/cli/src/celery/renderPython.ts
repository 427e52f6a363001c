import { RESERVED_SERVICE_NAMES, SERVICE_NAME_PATTERN, type ToolboxConfig } from "@worker-toolbox/config";
import { type CelerySettings, serviceQueueTemplate } from "./celerySettings.js";

/** A Python literal for plain JSON data (dicts, lists, strings, numbers, booleans, null). */
export function py(value: unknown, indent = ""): string {
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

function queueLiteral(queue: CelerySettings["task_queues"][number]): string {
  return (
    `    Queue(\n        ${JSON.stringify(queue.name)},\n        exchange=task_exchange,\n` +
    `        routing_key=${JSON.stringify(queue.routing_key)},\n        durable=True,\n` +
    `        queue_arguments=${py(queue.queue_arguments, "        ")},\n    ),`
  );
}

/**
 * The router: every toolbox task goes to the topic exchange with routing key = its name, and names its
 * service queue. Celery needs the queue, not only the exchange: `fallback_chord_unlock` routes a chord's
 * `celery.chord_unlock` to the body's queue (`router.route(...)['queue']`), a KeyError without it. A
 * service not among --service gets its queue built with the planned arguments, so declaring it is no drift.
 */
function routerLines(settings: CelerySettings, config: ToolboxConfig): string[] {
  const template = serviceQueueTemplate(config);
  const reserved = RESERVED_SERVICE_NAMES.map((name) => JSON.stringify(name)).join(", ");
  // SERVICE_NAME_PATTERN without its anchors, then `.<task>[.v<N>]` as in taskNameProblem.
  const service = SERVICE_NAME_PATTERN.source.replace(/^\^|\$$/g, "");
  const perService = template.serviceArguments.map((key) => `${JSON.stringify(key)}: service`).join(", ");
  return [
    `_TASK_NAME = re.compile(r"^(${service})\\.[A-Za-z][A-Za-z0-9_]*(\\.v[1-9][0-9]*)?$")`,
    `_RESERVED = {${reserved}}`,
    `_QUEUE_ARGUMENTS = ${py(template.arguments)}`,
    "_QUEUES = {queue.name: queue for queue in task_queues}",
    "",
    "",
    "def service_queue(service):",
    '    """The queue of a toolbox service, declared with exactly the planned arguments."""',
    `    name = ${JSON.stringify(template.namePrefix)} + service`,
    "    if name not in _QUEUES:",
    "        _QUEUES[name] = Queue(",
    "            name,",
    "            exchange=task_exchange,",
    `            routing_key=service + ${JSON.stringify(template.bindingSuffix)},`,
    "            durable=True,",
    `            queue_arguments=dict(_QUEUE_ARGUMENTS, **{${perService}}),`,
    "        )",
    "    return _QUEUES[name]",
    "",
    "",
    "def route_by_task_name(name, args, kwargs, options, task=None, **kw):",
    `    """Publish every toolbox task (${Object.keys(settings.task_routes).join(", ")}, ...) to the topic exchange`,
    "    with routing key = task name: its service queue (<service>.#) and the platform queue (#) get it.",
    '    The queue is named too: Celery routes a chord\'s celery.chord_unlock to the queue of its body."""',
    "    match = _TASK_NAME.match(name)",
    "    if match and match.group(1) not in _RESERVED:",
    "        return {",
    '            "queue": service_queue(match.group(1)),',
    `            "exchange": ${JSON.stringify(settings.task_default_exchange)},`,
    '            "exchange_type": "topic",',
    '            "routing_key": name,',
    "        }",
    "    return None",
    "",
    "",
    "task_routes = (route_by_task_name,)",
  ];
}

/** A module for `app.config_from_object(...)`. */
export function renderPython(
  settings: CelerySettings,
  config: ToolboxConfig,
  services: readonly string[],
): string {
  const { task_queues, task_routes: _routes, ...plain } = settings;
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
    `task_queues = (\n${task_queues.map(queueLiteral).join("\n")}\n)`,
    "",
    ...routerLines(settings, config),
    ...(config.queue.type === "quorum" ? QUORUM_QOS_SHIM : []),
    "",
  ].join("\n");
}
