/** The errors a producer's sends and start end with (producer/createProducer.ts). */

import { ToolboxError } from "@worker-toolbox/config";

export function closedError(): ToolboxError {
  return new ToolboxError("CLOSED", "The producer is closed; the send was not published.", {
    hint: "create a new producer, or send before calling close()",
  });
}

/**
 * Why there is no separate circuit-breaker library here: the breaker's three jobs are already done by
 * the connection. "Open" is the connection not being `connected` (lost, or never made), which amqplib
 * tells us exactly and at once — no error-rate window is needed to guess it. The half-open "probe" is the
 * connection's own background reconnect, paced by cockatiel's exponential backoff with jitter; its first
 * success (topology asserted, confirm channel open) closes the breaker. A second breaker (opossum, or
 * cockatiel's circuitBreaker) would count publish failures to infer the same state, lagging behind the
 * connection's and adding its own half-open probes against a broker we already know is down.
 */
export function circuitOpenError(routingKey: string, lastError: ToolboxError | undefined): ToolboxError {
  const why = lastError ? ` (${lastError.message.split("\n")[0]})` : "";
  return new ToolboxError(
    "PUBLISH_CIRCUIT_OPEN",
    `The broker is unavailable${why}: ${routingKey} was not sent. The producer reconnects in the background.`,
    {
      cause: lastError,
      hint: "retry later or check producer.available; set producer.offlineBufferSize to hold sends while reconnecting",
    },
  );
}

/** The start grace ended without a connection being set up. */
export function noConnectionYet(url: string): ToolboxError {
  return new ToolboxError(
    "BROKER_UNAVAILABLE",
    `No connection to RabbitMQ at ${url} yet; retrying in the background.`,
    {
      hint: "check that the broker is running and that AMQP_URL names the right host and port",
    },
  );
}

/** A send's deadline passed while the first connection was still being set up. */
export function startTimeout(routingKey: string): ToolboxError {
  return new ToolboxError(
    "PUBLISH_TIMEOUT",
    `${routingKey} waited for the producer's first connection until its publish deadline; it was not sent.`,
    {
      hint: "the broker accepted the connection but setting it up (declaring the topology) took too long",
    },
  );
}

export function unknownTask(name: string, otherContractSameName: boolean): ToolboxError {
  return new ToolboxError(
    "TASK_UNKNOWN",
    otherContractSameName
      ? `Task ${name}: this producer was created with a different contract object of the same name.`
      : `Task ${name} has no contract in this producer.`,
    { hint: "pass the task's contract (defineTask) in createProducer({ contracts })" },
  );
}

/** A drifted entity is fatal (retrying re-declares the same mismatch); a refused declare is, too. */
export function topologyError(error: unknown): unknown {
  if (error instanceof ToolboxError) return error;
  const message = (error as Error | undefined)?.message ?? String(error);
  if (/PRECONDITION_FAILED|\b406\b/.test(message)) {
    return new ToolboxError("TOPOLOGY_MISMATCH", `Declaring the topology failed: ${message}`, {
      cause: error,
      hint: "run `worker-toolbox topology verify` to see the difference",
    });
  }
  if (/ACCESS_REFUSED|\b403\b/.test(message)) {
    return new ToolboxError("BROKER_AUTH_FAILED", `The broker refused to declare the topology: ${message}`, {
      cause: error,
      hint: "give the broker user configure/write permission on the environment's names (or declare it with `worker-toolbox topology apply`)",
    });
  }
  return error;
}

/** sendMany: the socket's write buffer did not drain within the deadline; the rest of the batch is refused. */
export function writeBufferStalled(task: string, deadlineMs: number): ToolboxError {
  return new ToolboxError(
    "PUBLISH_TIMEOUT",
    `${task}: the connection's write buffer did not drain within ${deadlineMs} ms; this call and the rest of the batch were not published.`,
    {
      hint: "the broker reads slower than this process publishes, or blocks publishers (resource alarm)",
    },
  );
}

/** ready(): not available within its timeout, with no error to tell why. */
export function notAvailableAfter(timeoutMs: number): ToolboxError {
  return new ToolboxError("BROKER_UNAVAILABLE", `Not available after ${timeoutMs} ms.`);
}
