import { RESERVED_SERVICE_NAMES, SERVICE_NAME_PATTERN } from "@worker-toolbox/config";
import { broadcastCommand } from "@worker-toolbox/runtime/ops";
import type { ChannelModel } from "amqplib";

/** One queue a worker consumes, from its `active_queues` reply (kombu's `Queue.as_dict`). */
export interface ConsumedQueue {
  name: string;
  /** The exchange it is bound to ("" for the default exchange), as the worker reports it. */
  exchange: string;
  routingKey: string;
}

/** A worker's queues, or that it did not answer in time (busy, gone, or not listening to remote control). */
export type WorkerQueues = { answered: true; queues: ConsumedQueue[] } | { answered: false };

/**
 * Ask one worker which queues it consumes (Celery's `inspect active_queues`, which TypeScript and Celery
 * workers both answer). Read-only: what the worker page shows to viewers and operators alike.
 */
export async function askWorkerQueues(
  connection: ChannelModel,
  prefix: string,
  node: string,
  timeoutMs: number,
): Promise<WorkerQueues> {
  const replies = await broadcastCommand(
    connection,
    prefix,
    "active_queues",
    {},
    {
      destination: [node],
      timeoutMs,
    },
  );
  const reply = replies[node];
  if (!Array.isArray(reply)) return { answered: false };
  return { answered: true, queues: reply.map(consumedQueue).filter((queue) => queue.name !== "") };
}

function consumedQueue(entry: unknown): ConsumedQueue {
  const queue = (entry ?? {}) as { name?: unknown; exchange?: { name?: unknown }; routing_key?: unknown };
  return {
    name: typeof queue.name === "string" ? queue.name : "",
    exchange: typeof queue.exchange?.name === "string" ? queue.exchange.name : "",
    routingKey: typeof queue.routing_key === "string" ? queue.routing_key : "",
  };
}

/**
 * The service whose queue `queue` is in the environment (`<prefix>.<service>`), or undefined for any other
 * queue (dead letters, delay rungs, the platform queue, queues declared elsewhere). A worker consuming it is
 * in that service's rotation.
 */
export function serviceOfQueue(prefix: string, queue: string): string | undefined {
  if (!queue.startsWith(`${prefix}.`)) return undefined;
  const service = queue.slice(prefix.length + 1);
  if (!SERVICE_NAME_PATTERN.test(service) || RESERVED_SERVICE_NAMES.includes(service as never))
    return undefined;
  return service;
}
