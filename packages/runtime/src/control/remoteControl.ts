import { setTimeout as sleep } from "node:timers/promises";
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import type { EventSource } from "../protocol/celeryEvents.js";
import { decodeRevoke } from "../worker/revocations.js";
import { CHANGE_COMMANDS, type WorkerSettings } from "./changeCommands.js";
import {
  type ConsumedQueue,
  type HeldTask,
  nok,
  ok,
  queueInfo,
  requestInfo,
  scheduledInfo,
  type WorkerStatsInput,
  workerStats,
} from "./inspectReplies.js";
import { type ControlRequest, controlReply, decodeControlRequest, isForNode } from "./pidbox.js";
import type { ScheduledTask } from "./scheduledTasks.js";

/**
 * A worker's remote control: its own queue on the pidbox exchange, the commands Celery's `inspect()` and
 * `control` send, and replies `inspect()` reads. What it reports and what `revoke` does come from the worker
 * through `ControlTarget`; what pool_grow/pool_shrink, rate_limit, time_limit and shutdown change, through its
 * `settings` (changeCommands.ts), add_consumer/cancel_consumer too. Commands a TypeScript worker has no
 * equivalent for (Celery's `enable_events`, `dump_conf`, ...) are answered with an error naming the command.
 */
export interface ControlTarget {
  readonly nodeName: string;
  registered(): string[];
  /** Tasks this worker holds: running (startedAt set) and waiting for a slot. */
  held(): HeldTask[];
  /** Tasks this worker parked in a delay rung until their eta, still there. */
  scheduled(): ScheduledTask[];
  revokedIds(): string[];
  /** Remember the ids as revoked; with `terminate`, abort those running. Returns the ids it aborted. */
  revoke(ids: readonly string[], options: { terminate: boolean; reason: string; signal: string }): string[];
  stats(): WorkerStatsInput;
  queues(): ConsumedQueue[];
  /** Send a heartbeat event now (the `heartbeat` command `celery events` sends on start). */
  heartbeat(): void;
  /** What the change commands change. */
  readonly settings: WorkerSettings;
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
  scheduled: (_, target) =>
    target.scheduled().map((task) => scheduledInfo(task, target.nodeName, process.pid)),
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

/** Declares the worker's own pidbox queue on `channel` (the plan's `workerQueues`) and returns its name. */
export type DeclareControlQueue = (channel: Channel) => Promise<string | undefined>;

/** How often a queue still held by the worker's previous connection is tried again. */
const LOCKED_RETRY_MS = 1_000;

/** AMQP 405: an exclusive queue of that name belongs to another connection. */
const isResourceLocked = (error: unknown) => (error as { code?: unknown })?.code === 405;

export class RemoteControl {
  private channel: Channel | undefined;
  private closed = false;
  private readonly stop = new AbortController();
  /** Which connection's attach is current: a retry for an older one gives up. */
  private generation = 0;
  /** Replies being sent: close() lets them out first (a `shutdown` is answered before the worker stops). */
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly options: RemoteControlOptions) {}

  /**
   * After every (re)connect: declare the node's queue (exclusive to `connection`) on a channel of its own
   * and consume it without acks (as Celery), replying on the same channel. When the broker still holds the
   * queue for the previous connection (it has not noticed that one is gone: a network cut until the
   * heartbeat times out, a failed node not yet known as down), the declare is refused with 405
   * RESOURCE_LOCKED: the worker runs its tasks meanwhile and tries again every second until it gets it.
   */
  async attach(connection: ChannelModel, declare: DeclareControlQueue): Promise<void> {
    if (this.closed) return;
    const generation = ++this.generation;
    if (await this.subscribe(connection, declare)) return;
    this.options.logger.warn(
      { node: this.options.target.nodeName },
      "remote control queue still held by this worker's previous broker connection; retrying every second",
    );
    void this.retryLocked(connection, declare, generation);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    await Promise.allSettled(this.sending);
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  /** True when subscribed (or there is no queue to consume), false when the queue is locked. */
  private async subscribe(connection: ChannelModel, declare: DeclareControlQueue): Promise<boolean> {
    const channel = await connection.createChannel();
    channel.on("error", (error: Error) => {
      if (!isResourceLocked(error)) this.options.logger.warn({ err: error.message }, "control channel error");
    });
    let queue: string | undefined;
    try {
      queue = await declare(channel);
    } catch (error) {
      if (isResourceLocked(error)) return false;
      throw error;
    }
    if (!queue || this.closed) {
      await channel.close().catch(() => undefined);
      return true;
    }
    await channel.consume(queue, (message) => message && this.track(this.receive(channel, message)), {
      noAck: true,
    });
    this.channel = channel;
    return true;
  }

  private async retryLocked(connection: ChannelModel, declare: DeclareControlQueue, generation: number) {
    const { logger, target } = this.options;
    while (!this.closed && generation === this.generation) {
      try {
        await sleep(LOCKED_RETRY_MS, undefined, { signal: this.stop.signal });
        if (this.closed || generation !== this.generation) return;
        if (await this.subscribe(connection, declare)) {
          logger.info({ node: target.nodeName }, "remote control queue declared");
          return;
        }
      } catch (error) {
        // Closed, or the connection went: the next connection's attach starts over.
        if (!this.closed) logger.debug({ err: (error as Error).message }, "remote control retry stopped");
        return;
      }
    }
  }

  private track(replying: Promise<void>): void {
    this.sending.add(replying);
    replying
      .catch((error: Error) =>
        this.options.logger.warn({ err: error.message }, "remote control command failed"),
      )
      .finally(() => this.sending.delete(replying));
  }

  private async receive(channel: Channel, message: ConsumeMessage): Promise<void> {
    const { target, clock, logger } = this.options;
    const request = decodeControlRequest(message.content, message.properties.headers);
    if (!request || !isForNode(request, target.nodeName)) return;
    clock.adjust(request.clock);
    const reply = await this.handle(request);
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

  private async handle(request: ControlRequest): Promise<unknown> {
    const { target, logger } = this.options;
    const change = CHANGE_COMMANDS[request.method];
    const handler = HANDLERS[request.method];
    if (!handler && !change)
      return nok(`No such command: ${request.method} (a worker-toolbox worker does not support it)`);
    try {
      if (!change) return handler!(request.arguments, target) ?? null;
      const reply = await change(request.arguments, target.settings);
      logger.info({ method: request.method, arguments: request.arguments, reply }, "remote control change");
      return reply;
    } catch (error) {
      this.options.logger.warn(
        { err: (error as Error).message, method: request.method },
        "remote control command failed",
      );
      return nok(`${request.method} failed: ${(error as Error).message}`);
    }
  }
}
