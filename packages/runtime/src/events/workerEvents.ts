import type { Channel, ChannelModel } from "amqplib";
import type { Logger } from "pino";
import {
  type CeleryEvent,
  type EventSource,
  eventMessage,
  type TaskEventFields,
  type TaskEventType,
  type WorkerEvent,
  type WorkerEventType,
} from "../protocol/celeryEvents.js";

/**
 * A worker's Celery events on the broker: worker-online when it (re)connects, worker-heartbeat every
 * `heartbeatMs`, worker-offline when it stops, and task events buffered into `task.multi` lists (up to
 * `bufferLimit`, or `flushMs` after the first), as Celery's worker sends them.
 *
 * Events are monitoring, not data: they go out on a plain channel without publisher confirms, as
 * Celery's do, and while the broker is unreachable they are dropped (counted in `dropped`) rather than
 * held. Nothing a task does waits for them.
 */
export interface WorkerEventsOptions {
  exchange: string;
  source: EventSource;
  heartbeatMs: number;
  /** What worker events say about the worker (besides `active` and `processed`). */
  identity: Pick<WorkerEvent, "swIdent" | "swVer" | "service" | "toolboxVersion" | "tasks" | "concurrency">;
  /** Tasks running now and finished so far. */
  counts(): { active: number; processed: number };
  logger: Logger;
  bufferLimit?: number;
  flushMs?: number;
}

export class WorkerEvents {
  /** Events that could not be published (no channel, or the channel refused them). */
  dropped = 0;
  private channel: Channel | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private buffer: CeleryEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly bufferLimit: number;
  private readonly flushMs: number;

  constructor(private readonly options: WorkerEventsOptions) {
    this.bufferLimit = options.bufferLimit ?? 24;
    this.flushMs = options.flushMs ?? 100;
  }

  /** After every (re)connect: a channel of its own, worker-online, and the heartbeat. */
  async attach(connection: ChannelModel): Promise<void> {
    if (this.closed) return;
    const channel = await connection.createChannel();
    channel.on("error", (error: Error) =>
      this.options.logger.warn({ err: error.message }, "events channel error"),
    );
    channel.once("close", () => {
      if (this.channel === channel) this.channel = undefined;
    });
    this.channel = channel;
    this.sendWorker("worker-online");
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.sendWorker("worker-heartbeat"), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  task<T extends TaskEventType>(type: T, uuid: string, fields: TaskEventFields[T]): void {
    if (this.closed) return;
    this.buffer.push(this.options.source.task(type, uuid, fields));
    if (this.buffer.length >= this.bufferLimit) this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), this.flushMs);
      this.flushTimer.unref();
    }
  }

  /** Send a worker-heartbeat now (remote control's `heartbeat`, which `celery events` sends on start). */
  heartbeatNow(): void {
    if (!this.closed) this.sendWorker("worker-heartbeat");
  }

  /** Send the buffered task events, then worker-offline; stop the heartbeat and close the channel. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.sendWorker("worker-offline");
    this.closed = true;
    clearInterval(this.heartbeat);
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.buffer.length === 0) return;
    const events = this.buffer;
    this.buffer = [];
    this.publish(events);
  }

  private sendWorker(type: WorkerEventType): void {
    const { identity, counts, source, heartbeatMs } = this.options;
    this.publish(source.worker(type, { freq: heartbeatMs / 1_000, ...counts(), ...identity }));
  }

  private publish(events: CeleryEvent | CeleryEvent[]): void {
    const count = Array.isArray(events) ? events.length : 1;
    const channel = this.channel;
    if (!channel) {
      this.dropped += count;
      return;
    }
    const message = eventMessage(events);
    try {
      channel.publish(this.options.exchange, message.routingKey, message.content, message.properties);
    } catch {
      // The channel closed under us (connection lost): the next attach starts again.
      this.dropped += count;
    }
  }
}
