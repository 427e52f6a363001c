/**
 * Every error the toolbox throws is a `ToolboxError` with a stable `code` from `ERROR_CODES`.
 * Scripts and tests match on `code`, never on message text; messages are for people and say
 * what went wrong, where (config path or env var), why, and how to fix it.
 * docs/errors.md documents each code.
 */
export const ERROR_CODES = {
  /** Configuration failed validation; `issues` lists every problem at once. */
  CONFIG_INVALID: "CONFIG_INVALID",
  /** A config file could not be read or parsed. */
  CONFIG_FILE_UNREADABLE: "CONFIG_FILE_UNREADABLE",
  /** A task name breaks the `<service>.<task>[.v<N>]` rule. */
  TASK_NAME_INVALID: "TASK_NAME_INVALID",
  /** A task's arguments failed its contract's schema; `issues` lists every failing path. */
  TASK_ARGS_INVALID: "TASK_ARGS_INVALID",
  /** A handler returned a value that fails its contract's result schema (the task fails). */
  TASK_RESULT_INVALID: "TASK_RESULT_INVALID",
  /** A producer was asked to send a task it has no contract for. */
  TASK_UNKNOWN: "TASK_UNKNOWN",
  /** A value cannot be encoded as JSON (with Kombu markers). */
  MESSAGE_NOT_SERIALIZABLE: "MESSAGE_NOT_SERIALIZABLE",
  /** An encoded message is larger than `limits.maxMessageBytes`. */
  MESSAGE_TOO_LARGE: "MESSAGE_TOO_LARGE",
  /** A received message is not a Celery protocol v2 JSON task message. */
  MESSAGE_MALFORMED: "MESSAGE_MALFORMED",
  /** A task message to send has an invalid field (priority outside 0-255, countdown with eta, a reserved header). */
  MESSAGE_INVALID: "MESSAGE_INVALID",
  /** The broker is unreachable (refused, DNS, timeout): transient, retried in the background. */
  BROKER_UNAVAILABLE: "BROKER_UNAVAILABLE",
  /** Wrong credentials: fatal, not retried. */
  BROKER_AUTH_FAILED: "BROKER_AUTH_FAILED",
  /** The vhost in the broker URL does not exist or is not permitted: fatal. */
  BROKER_VHOST_NOT_FOUND: "BROKER_VHOST_NOT_FOUND",
  /** TLS handshake or certificate problem: fatal. */
  BROKER_TLS_FAILED: "BROKER_TLS_FAILED",
  /**
   * RabbitMQ closed a consumer's channel: a delivery stayed unacknowledged longer than the broker's
   * `consumer_timeout` (a handler ran past it; for the tracker, its database stalled). Its messages return to
   * the queue; the worker consumes again. Keep tasks' hard time limits below it, or raise `consumer_timeout`.
   */
  BROKER_CONSUMER_TIMEOUT: "BROKER_CONSUMER_TIMEOUT",
  /** The circuit breaker is open: sends fail fast until the broker is back. */
  PUBLISH_CIRCUIT_OPEN: "PUBLISH_CIRCUIT_OPEN",
  /** The broker negatively acknowledged a publish. */
  PUBLISH_NACKED: "PUBLISH_NACKED",
  /** The message matched no queue (returned by the broker, mandatory flag). */
  PUBLISH_UNROUTABLE: "PUBLISH_UNROUTABLE",
  /** The publish was not confirmed before `producer.publishTimeoutMs`. */
  PUBLISH_TIMEOUT: "PUBLISH_TIMEOUT",
  /** The connection or channel closed before the broker confirmed the publish. */
  PUBLISH_CONNECTION_LOST: "PUBLISH_CONNECTION_LOST",
  /**
   * No room to hold the send: the offline buffer (`producer.offlineBufferSize`) or the write backlog
   * (`producer.maxQueuedBytes`) is full. It is rejected, not published, never dropped silently.
   */
  PUBLISH_BUFFER_FULL: "PUBLISH_BUFFER_FULL",
  /** The producer or worker is closed or closing. */
  CLOSED: "CLOSED",
  /** What is on the broker differs from the topology plan. */
  TOPOLOGY_MISMATCH: "TOPOLOGY_MISMATCH",
  /** The database is unreachable or refused the connection. */
  DATABASE_UNAVAILABLE: "DATABASE_UNAVAILABLE",
  /** The result schema is missing or older than this toolbox needs: run `worker-toolbox db migrate`. */
  DATABASE_NOT_MIGRATED: "DATABASE_NOT_MIGRATED",
  /**
   * The database refused a write the role needs (e.g. the worker role may not insert results): run
   * `worker-toolbox db grants --apply` as the schema owner.
   */
  DATABASE_PERMISSION_DENIED: "DATABASE_PERMISSION_DENIED",
  /** A stored result (a pickle Celery wrote) holds a value outside what the toolbox reads (docs/results.md). */
  RESULT_UNREADABLE: "RESULT_UNREADABLE",
  /** Waiting for a result timed out. */
  RESULT_TIMEOUT: "RESULT_TIMEOUT",
  /** A throwaway test server could not be started (e.g. rabbitmq-server not installed). */
  LOCAL_SERVER_FAILED: "LOCAL_SERVER_FAILED",
  /** Generator: invalid answers, unsafe target, or a template problem. */
  GENERATOR_INVALID_INPUT: "GENERATOR_INVALID_INPUT",
  /** Generator: the target directory is not empty; nothing was written (pass --force to allow it). */
  GENERATOR_TARGET_NOT_EMPTY: "GENERATOR_TARGET_NOT_EMPTY",
  /**
   * Generator: `upgrade --to <v>` of another version found WORKER_TOOLBOX_DELEGATED set, so it cannot hand the
   * command to that version's CLI (a variable leaked from a shell or CI, or npm ran another CLI than asked);
   * nothing was written.
   */
  GENERATOR_HANDOFF_REFUSED: "GENERATOR_HANDOFF_REFUSED",
  /** The in-process runner (createInProcessProducer, the test kit) was asked for in production mode. */
  IN_PROCESS_REFUSED: "IN_PROCESS_REFUSED",
  /** The in-process runner ran its maximum number of deliveries without its queue emptying (a task loop). */
  IN_PROCESS_LOOP: "IN_PROCESS_LOOP",
  /** A conformance case failed: the service's wiring breaks a toolbox rule (the message says which, and the fix). */
  CONFORMANCE_FAILED: "CONFORMANCE_FAILED",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ToolboxErrorOptions {
  cause?: unknown;
  /** How to fix it, printed after the message. */
  hint?: string;
}

export class ToolboxError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: ToolboxErrorOptions = {}) {
    super(options.hint ? `${message}\n  fix: ${options.hint}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

export function isToolboxError(value: unknown, code?: ErrorCode): value is ToolboxError {
  return value instanceof ToolboxError && (code === undefined || value.code === code);
}

/** Normalise anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === "string" ? value : JSON.stringify(value), { cause: value });
}

/**
 * An error as a person should read it when a command or process dies of it: `error CODE: message` (the
 * message ends with its `fix:` line) for a ToolboxError, plus the cause when the message does not already
 * say it; the stack for anything else, since that is a bug to report.
 */
export function describeError(error: unknown): string {
  if (isToolboxError(error)) {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    const because = cause && !error.message.includes(cause) ? `\n  cause: ${cause}` : "";
    return `error ${error.code}: ${error.message}${because}`;
  }
  return `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}
