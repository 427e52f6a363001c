import { ToolboxError } from "./errors.js";
import {
  DELAY_HEADER,
  entityNames,
  formatDelay,
  PLATFORM_DEAD_LETTER_KEY,
  RESERVED_SERVICE_NAMES,
  SERVICE_NAME_PATTERN,
  serviceBindingKey,
} from "./names.js";
import type { ToolboxConfig } from "./schema.js";

type EntityNames = ReturnType<typeof entityNames>;

/**
 * The topology a config implies, as plain data: printed by `worker-toolbox topology plan`, asserted by
 * `applyTopology`, checked by `verifyTopology`, snapshot-tested here.
 *
 *   producer ──► <prefix>.tasks (topic) ──<service>.#──► <prefix>.<service> ──(reject/limit)──► <prefix>.dead
 *                       │                                                                        │ <service>
 *                       └──────────#──────────► <prefix>.platform (tracker)        <prefix>.<service>.dead
 *   worker retry ──► <prefix>.delay (headers, wt-delay=<rung>) ──► <prefix>.delay.<rung> (TTL)
 *                       ──(expired: dead-lettered with the task name as routing key)──► <prefix>.tasks
 *
 * Remote control is Celery's pidbox: `<prefix>.celery.pidbox` (fanout) carries revocations (and Celery's
 * inspect/ping) to every worker; each worker process binds its own queue to it (`workerQueues`: planned as
 * a name template, declared by each worker under its node name). `<prefix>.celeryev` carries Celery events.
 * A retry or a future `eta` waits in a delay rung and then re-enters the topic exchange, so the platform
 * queue sees every retry too. Dead letters carry their reason in headers set by the worker.
 */
/** Delivery limit of quorum dead-letter queues: high enough to never drop a dead letter that is inspected. */
export const DEAD_LETTER_DELIVERY_LIMIT = 1_000_000;

export interface PlannedExchange {
  name: string;
  type: "topic" | "headers" | "direct" | "fanout";
  /** False only for Celery's pidbox exchange, which kombu declares transient (a durable one would be refused). */
  durable: boolean;
  purpose: string;
}

export interface PlannedQueue {
  name: string;
  durable: true;
  /** Exact queue arguments; a queue declared with other arguments is drift. */
  arguments: Record<string, string | number>;
  purpose: string;
}

export interface PlannedBinding {
  exchange: string;
  queue: string;
  routingKey: string;
  /** Binding arguments (headers exchange only). */
  arguments: Record<string, string>;
}

/**
 * A queue each worker process declares for itself: not durable and **exclusive** to the worker's connection
 * (its only consumer), so the broker deletes it when that connection goes and the worker declares it again
 * after every reconnect or failover; it exists only while the worker runs (verify cannot expect it).
 * Celery declares its own nodes' pidbox queues transient and non-exclusive, which RabbitMQ 4.3 refuses by
 * default; an exclusive queue is what 4.3 still accepts. `name` holds `{worker}`, filled with the worker's
 * Celery node name (`<service>-<pid>@<host>`).
 */
export interface PlannedWorkerQueue {
  /** What the worker consumes it for. */
  role: "control";
  service: string;
  name: string;
  exchange: string;
  routingKey: string;
  durable: false;
  /** Only the declaring connection may use it; the broker deletes it with that connection. */
  exclusive: true;
  autoDelete: true;
  /** Celery's control_queue_ttl (300 s): a command nobody read in time is dropped, not run late. */
  arguments: Record<string, number>;
  purpose: string;
}

/** The placeholder in `PlannedWorkerQueue.name` a worker replaces with its own id. */
export const WORKER_ID_PLACEHOLDER = "{worker}";

export interface TopologyPlan {
  prefix: string;
  exchanges: PlannedExchange[];
  queues: PlannedQueue[];
  bindings: PlannedBinding[];
  workerQueues: PlannedWorkerQueue[];
}

/**
 * Plan the topology for `services` (defaults to the config's own service). The platform queue, the delay
 * rungs and the shared exchanges are always part of the plan: every producer declares them, so a task
 * published before any worker ever ran is still tracked.
 */
export function planTopology(
  config: ToolboxConfig,
  services: readonly string[] = serviceList(config),
): TopologyPlan {
  const prefix = config.environment.prefix;
  const names = entityNames(prefix);
  for (const service of services) assertServiceName(service);

  const { typeArgs, replicas } = queueArguments(config, names);
  const exchanges = planExchanges(names);
  const queues: PlannedQueue[] = [];
  const bindings: PlannedBinding[] = [];
  const workerQueues: PlannedWorkerQueue[] = [];
  const bind = (exchange: string, queue: string, routingKey: string, args: Record<string, string> = {}) =>
    bindings.push({ exchange, queue, routingKey, arguments: args });

  for (const service of [...new Set(services)].sort()) {
    const queue = names.serviceQueue(service);
    queues.push({ name: queue, durable: true, arguments: typeArgs(service), purpose: `tasks of ${service}` });
    bind(names.exchange, queue, serviceBindingKey(service));
    const dead = names.serviceDeadLetterQueue(service);
    queues.push({ name: dead, durable: true, arguments: typeArgs(), purpose: `dead letters of ${service}` });
    bind(names.deadLetterExchange, dead, service);
    const watch = names.serviceDeadLetterWatchQueue(service);
    queues.push({
      name: watch,
      durable: true,
      arguments: typeArgs(),
      purpose: `a copy of the dead letters of ${service}: its workers store REVOKED for tasks expired in the queue`,
    });
    bind(names.deadLetterExchange, watch, service);
    workerQueues.push({
      role: "control",
      service,
      name: `${WORKER_ID_PLACEHOLDER}.${names.controlExchange}`,
      exchange: names.controlExchange,
      routingKey: "",
      durable: false,
      exclusive: true,
      autoDelete: true,
      arguments: { "x-message-ttl": 300_000 },
      purpose: `remote control (revocations) of one worker process of ${service}`,
    });
  }

  queues.push({
    name: names.platformQueue,
    durable: true,
    arguments: typeArgs(PLATFORM_DEAD_LETTER_KEY),
    purpose: "a copy of every task, for the tracker",
  });
  bind(names.exchange, names.platformQueue, "#");
  queues.push({
    name: names.platformDeadLetterQueue,
    durable: true,
    arguments: typeArgs(),
    purpose: "tracking messages the tracker could never store",
  });
  bind(names.deadLetterExchange, names.platformDeadLetterQueue, PLATFORM_DEAD_LETTER_KEY);

  for (const rung of planDelayRungs(config, names, replicas)) {
    queues.push(rung.queue);
    bind(names.delayExchange, rung.queue.name, "", rung.bindingArguments);
  }
  return { prefix, exchanges, queues, bindings, workerQueues };
}

/** The shared exchanges: tasks, delays, dead letters, Celery events and remote control. */
function planExchanges(names: EntityNames): PlannedExchange[] {
  return [
    { name: names.exchange, type: "topic", durable: true, purpose: "every task, routing key = task name" },
    {
      name: names.delayExchange,
      type: "headers",
      durable: true,
      purpose: "routes retries and future etas to a delay rung",
    },
    {
      name: names.deadLetterExchange,
      type: "direct",
      durable: true,
      purpose: "dead letters, routing key = service",
    },
    {
      name: names.eventExchange,
      type: "topic",
      durable: true,
      purpose: "Celery events: worker heartbeats and task events (celery events, Flower, the dashboard)",
    },
    {
      name: names.controlExchange,
      type: "fanout",
      durable: false,
      purpose: "Celery's remote control (pidbox): revoke, inspect and ping to every worker",
    },
  ];
}

/** The arguments of the service, dead-letter and platform queues (`typeArgs`), and every quorum queue's replicas. */
function queueArguments(config: ToolboxConfig, names: EntityNames) {
  const quorum = config.queue.type === "quorum";
  /** Every quorum queue: the replication factor, when one is configured. */
  const replicas = (args: Record<string, string | number>) => {
    if (quorum && config.queue.replicas !== undefined)
      args["x-quorum-initial-group-size"] = config.queue.replicas;
    return args;
  };
  const typeArgs = (deadLetterKey?: string): Record<string, string | number> => {
    const args: Record<string, string | number> = { "x-queue-type": config.queue.type };
    if (deadLetterKey !== undefined) {
      args["x-dead-letter-exchange"] = names.deadLetterExchange;
      args["x-dead-letter-routing-key"] = deadLetterKey;
    }
    if (quorum) {
      // Service queues: a message that kills its worker this often is dead-lettered instead of looping.
      // Dead-letter queues have nowhere further to go, so their limit is effectively none: RabbitMQ 4.x
      // gives quorum queues a default limit of 20, and every `dlq list` (get, then requeue) counts.
      args["x-delivery-limit"] =
        deadLetterKey !== undefined ? config.queue.deliveryLimit : DEAD_LETTER_DELIVERY_LIMIT;
      // What the broker dead-letters stays in the queue until the dead-letter queue has it. RabbitMQ only
      // honours the strategy with reject-publish overflow (without a length limit, overflow never happens).
      if (deadLetterKey !== undefined && config.queue.deadLetterStrategy === "at-least-once") {
        args["x-dead-letter-strategy"] = "at-least-once";
        args["x-overflow"] = "reject-publish";
      }
    }
    return replicas(args);
  };
  return { typeArgs, replicas };
}

/** One TTL queue per delay rung, bound to the delay exchange by its `wt-delay` header. */
function planDelayRungs(
  config: ToolboxConfig,
  names: EntityNames,
  replicas: (args: Record<string, string | number>) => Record<string, string | number>,
): { queue: PlannedQueue; bindingArguments: Record<string, string> }[] {
  const quorum = config.queue.type === "quorum";
  return [...new Set(config.queue.delayRungsMs)]
    .sort((a, b) => a - b)
    .map((delayMs) => {
      const args: Record<string, string | number> = {
        "x-queue-type": config.queue.type,
        "x-message-ttl": delayMs,
        // No routing-key override: an expired message keeps its task name and re-enters the topic exchange.
        "x-dead-letter-exchange": names.exchange,
      };
      if (quorum) {
        // Quorum queues dead-letter at most once unless told otherwise; a retry must not vanish.
        args["x-dead-letter-strategy"] = "at-least-once";
        args["x-overflow"] = "reject-publish";
      }
      return {
        queue: {
          name: names.delayQueue(delayMs),
          durable: true,
          arguments: replicas(args),
          purpose: `retries and etas due in up to ${formatDelay(delayMs)}`,
        },
        bindingArguments: { "x-match": "all", [DELAY_HEADER]: formatDelay(delayMs) },
      };
    });
}

function serviceList(config: ToolboxConfig): string[] {
  return config.service ? [config.service] : [];
}

function assertServiceName(service: string): void {
  if (!SERVICE_NAME_PATTERN.test(service) || RESERVED_SERVICE_NAMES.includes(service as never)) {
    throw new ToolboxError("CONFIG_INVALID", `Service name "${service}" cannot be planned.`, {
      hint: `use lower kebab-case, not one of ${RESERVED_SERVICE_NAMES.join(", ")}`,
    });
  }
}

/**
 * The delay rung for a message due in `delayMs`: the largest rung not longer than the delay, so a message
 * never comes back early; the worker re-delays what is still not due (at most the smallest rung late).
 */
export function pickDelayRung(config: ToolboxConfig, delayMs: number): number {
  const rungs = [...config.queue.delayRungsMs].sort((a, b) => a - b);
  let chosen = rungs[0]!;
  for (const rung of rungs) if (rung <= delayMs) chosen = rung;
  return chosen;
}
