import { ToolboxError } from "./errors.js";

/** Lower kebab-case, starting with a letter: `export`, `order-fulfilment`. */
export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Service names that would collide with the toolbox's own entities. */
export const RESERVED_SERVICE_NAMES = ["platform", "tasks", "delay", "dead", "celery", "amq"] as const;

const TASK_SEGMENT = /^[a-zA-Z][a-zA-Z0-9_]*$/;
const VERSION_SEGMENT = /^v([1-9][0-9]*)$/;

export interface ParsedTaskName {
  name: string;
  service: string;
  /** The task part without the service and version, e.g. `project` in `export.project.v2`. */
  task: string;
  /** The version number, or null when the name has no `.v<N>` suffix. */
  version: number | null;
}

/** Why a task name is invalid, or null when it follows `<service>.<task>[.v<N>]`. */
export function taskNameProblem(name: string): string | null {
  if (typeof name !== "string" || name.length === 0) return "it is empty";
  if (name.length > 155) return "it is longer than 155 characters (Celery's task name column)";
  if (/[*#\s]/.test(name))
    return "it contains `*`, `#` or white space, which AMQP topic routing treats specially";
  const parts = name.split(".");
  if (parts.length < 2) return "it has no `<service>.` prefix";
  if (parts.length > 3) return "it has more than three dot-separated parts";
  const [service, task, version] = parts as [string, string, string | undefined];
  if (!SERVICE_NAME_PATTERN.test(service)) return `the service part \`${service}\` is not lower kebab-case`;
  if (RESERVED_SERVICE_NAMES.includes(service as never)) return `the service part \`${service}\` is reserved`;
  if (VERSION_SEGMENT.test(task)) return "the task part is missing before the version suffix";
  if (!TASK_SEGMENT.test(task))
    return `the task part \`${task}\` must be letters, digits or _ and start with a letter`;
  if (version !== undefined && !VERSION_SEGMENT.test(version)) {
    return `the third part \`${version}\` is not a version suffix like \`v2\``;
  }
  return null;
}

/** Parse `<service>.<task>[.v<N>]`, throwing TASK_NAME_INVALID with the reason. */
export function parseTaskName(name: string): ParsedTaskName {
  const problem = taskNameProblem(name);
  if (problem) {
    throw new ToolboxError("TASK_NAME_INVALID", `Task name "${name}" is invalid: ${problem}.`, {
      hint: "name tasks `<service>.<task>` with an optional version suffix, e.g. `export.project` or `export.project.v2`",
    });
  }
  const [service, task, version] = name.split(".") as [string, string, string | undefined];
  return { name, service, task, version: version ? Number(version.slice(1)) : null };
}

/** Fully-qualified broker entity names for one environment. */
export function entityNames(prefix: string) {
  return {
    /** The one topic exchange every task is published to, routing key = task name. */
    exchange: `${prefix}.tasks`,
    /** Headers exchange that routes a delayed message to its delay rung. */
    delayExchange: `${prefix}.delay`,
    /**
     * Celery's pidbox exchange (`<celeryControl>.pidbox`, fanout, not durable, as kombu declares it): remote
     * control (revoke, inspect, ping) to every worker, Celery's and ours; each worker consumes its own queue
     * `<node name>.<celeryControl>.pidbox`.
     */
    controlExchange: `${prefix}.celery.pidbox`,
    /**
     * Celery's event exchange (Celery's `event_exchange`, topic): worker heartbeats and task events, routing
     * key = event type with `-` as `.` (`worker.heartbeat`). `celery-config` prints this name.
     */
    eventExchange: `${prefix}.celeryev`,
    /** Celery's `control_exchange` name: remote control goes through `<this>.pidbox` (controlExchange). */
    celeryControl: `${prefix}.celery`,
    /** Direct exchange for dead letters, routing key = service name. */
    deadLetterExchange: `${prefix}.dead`,
    platformQueue: `${prefix}.platform`,
    platformDeadLetterQueue: `${prefix}.platform.dead`,
    serviceQueue: (service: string) => `${prefix}.${service}`,
    serviceDeadLetterQueue: (service: string) => `${prefix}.${service}.dead`,
    /**
     * A copy of every dead letter of a service (bound to the dead-letter exchange with the same key), which
     * the service's workers consume to store REVOKED for tasks the broker expired in the service queue.
     */
    serviceDeadLetterWatchQueue: (service: string) => `${prefix}.${service}.dead.watch`,
    delayQueue: (delayMs: number) => `${prefix}.delay.${formatDelay(delayMs)}`,
  };
}

/** Binding key of a service queue: every task of the service, any version. */
export const serviceBindingKey = (service: string) => `${service}.#`;
/** The routing key the platform's dead letters use on the dead-letter exchange. */
export const PLATFORM_DEAD_LETTER_KEY = "platform";
/**
 * Header naming the delay rung a message is routed to on the delay exchange. No `x-` prefix on purpose:
 * a headers exchange ignores `x-` headers when matching, so such a binding would match every message.
 */
export const DELAY_HEADER = "wt-delay";

/** `1500` → `1500ms`, `5000` → `5s`, `120000` → `2m`, `3600000` → `1h`. */
export function formatDelay(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
