import type { Channel, ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import type { EventSource } from "../protocol/celeryEvents.js";
import { decodeRevoke } from "../worker/revocations.js";
import {
  type ConsumedQueue,
  type HeldTask,
  nok,
  ok,
  queueInfo,
  requestInfo,
  type WorkerStatsInput,
  workerStats,
} from "./inspectReplies.js";
import { type ControlRequest, controlReply, decodeControlRequest, isForNode } from "./pidbox.js";

/**
 * A worker's remote control: its own queue on the pidbox exchange, the commands Celery's `inspect()` and
 * `control` send, and replies `inspect()` reads. What it reports and what `revoke` does come from the worker
 * through `ControlTarget`. Commands a TypeScript worker has no equivalent for (pool_grow, rate_limit,
 * add_consumer, ...) are answered with an error naming the command, as Celery answers one it lacks.
 */
export interface ControlTarget {
  readonly nodeName: string;
  registered(): string[];
  /** Tasks this worker holds: running (startedAt set) and waiting for a slot. */
  held(): HeldTask[];
  revokedIds(): string[];
  /** Remember the ids as revoked; with `terminate`, abort those running. Returns the ids it aborted. */
  revoke(ids: readonly string[], options: { terminate: boolean; reason: string; signal: string }): string[];
  stats(): WorkerStatsInput;
  queues(): ConsumedQueue[];
  /** Send a heartbeat event now (the `heartbeat` command `celery events` sends on start). */
  heartbeat(): void;
}

export interface RemoteControlOptions {
  target: ControlTarget;
  /** The worker's Lamport clock (shared with its events). */
  clock: EventSource;
  logger: Logger;
}

type Handler = (args: Record<string, unknown>, target: ControlTarget) => unknown;

const list = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).filter(
    (item): item is string => typeof item === "string" && item !== "",
  );

function revoke(args: Record<string, unknown>, target: ControlTarget) {
  const revocation = decodeRevoke({ method: "revoke", arguments: args });
  const ids = [...new Set(revocation?.taskIds)];
  const terminate = args.terminate === true;
  const signal = typeof args.signal === "string" ? args.signal : "SIGTERM";
  const terminated = target.revoke(ids, { terminate, reason: revocation?.reason ?? "revoked", signal });
  if (terminate)
    return ok(terminated.length > 0 ? `terminate: ${terminated.join(", ")}` : "terminate: tasks unknown");
  return ok(`tasks ${ids.join(", ")} flagged as revoked`);
}

const HANDLERS: Record<string, Handler> = {
  ping: () => ok("pong"),
  revoke,
  terminate: (args, target) => revoke({ ...args, terminate: true }, target),
  registered: (_, target) => [...target.registered()].sort(),
  active: (_, target) =>
    target
      .held()
      .filter((task) => task.startedAt !== undefined)
      .map((task) => requestInfo(task, target.nodeName, process.pid)),
  reserved: (_, target) =>
    target
      .held()
      .filter((task) => task.startedAt === undefined)
      .map((task) => requestInfo(task, target.nodeName, process.pid)),
  // Future etas wait in the broker's delay queues, not in the worker.
  scheduled: () => [],
  revoked: (_, target) => target.revokedIds(),
  active_queues: (_, target) => target.queues().map(queueInfo),
  stats: (_, target) => workerStats(target.stats()),
  query_task: (args, target) => {
    const wanted = new Set(list(args.ids));
    return Object.fromEntries(
      target
        .held()
        .filter((task) => wanted.has(task.id))
        .map((task) => [
          task.id,
          [
            task.startedAt === undefined ? "reserved" : "active",
            requestInfo(task, target.nodeName, process.pid),
          ],
        ]),
    );
  },
  heartbeat: (_, target) => target.heartbeat(),
};

export class RemoteControl {
  private channel: Channel | undefined;
  private closed = false;

  constructor(private readonly options: RemoteControlOptions) {}

  /**
   * After every (re)connect: consume the node's queue (declared by the topology plan's `workerQueues`) on
   * `channel`, without acks (as Celery), and reply on the same channel.
   */
  async attach(channel: Channel, queue: string): Promise<void> {
    if (this.closed) return;
    await channel.consume(queue, (message) => message && void this.receive(channel, message), {
      noAck: true,
    });
    this.channel = channel;
  }

  async close(): Promise<void> {
    this.closed = true;
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  private async receive(channel: Channel, message: ConsumeMessage): Promise<void> {
    const { target, clock, logger } = this.options;
    const request = decodeControlRequest(message.content, message.properties.headers);
    if (!request || !isForNode(request, target.nodeName)) return;
    clock.adjust(request.clock);
    const reply = this.handle(request);
    const out = controlReply(request, target.nodeName, reply, clock.forward());
    if (!out) return;
    try {
      // The requester declares its reply exchange; declaring it again (as kombu does) is harmless.
      await channel.assertExchange(out.exchange, "direct", { durable: false });
      channel.publish(out.exchange, out.routingKey, out.content, out.properties);
    } catch (error) {
      logger.warn({ err: (error as Error).message, method: request.method }, "remote control reply not sent");
    }
  }

  private handle(request: ControlRequest): unknown {
    const handler = HANDLERS[request.method];
    if (!handler)
      return nok(`No such command: ${request.method} (a worker-toolbox worker does not support it)`);
    try {
      return handler(request.arguments, this.options.target) ?? null;
    } catch (error) {
      this.options.logger.warn(
        { err: (error as Error).message, method: request.method },
        "remote control command failed",
      );
      return nok(`${request.method} failed: ${(error as Error).message}`);
    }
  }
}
