import { ToolboxError } from "@worker-toolbox/config";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { DeadlineSlots } from "./deadlineSlots.js";
import { framedPublish } from "./framedPublish.js";
import {
  backlogFull,
  type ConfirmPublisherOptions,
  confirmError,
  type Pending,
  type PublishDone,
  type PublishRequest,
  publishTimeout,
  unroutable,
} from "./publishing.js";

export type { ConfirmPublisherOptions, PublishDone, PublishRequest } from "./publishing.js";

/**
 * Publishes on a confirm channel with `mandatory` set, and turns every way a publish can end into a
 * settled promise: the broker's ack resolves it; a nack, a basic.return (no queue matched), the channel or
 * connection closing, and the deadline passing reject it with a typed error. Nothing is fire-and-forget
 * and no promise is left hanging when the connection drops (amqplib leaves that to its users).
 *
 * A publish that timed out or lost its connection MAY still have reached the broker: callers treat that
 * as "unknown" and may resend with the same task id, which the result and tracking writes make harmless.
 *
 * With `resend` (a producer on a cluster, or one that holds sends while reconnecting), losing the connection
 * does not fail what is unconfirmed: it waits, with new publishes, for the next channel (`attach`) and is
 * published again there, each within its own deadline — at least once, never silently dropped. The owner
 * ends the wait with `failWaiting` when no node can be reached. A nack is retried the same way, on a new
 * channel (without `resend` the nack rejects, and the channel is replaced all the same): on RabbitMQ 3.10 a channel opened on a surviving node while a quorum queue still elects its new
 * leader nacks every publish to it for good, while a channel opened a moment later works (reproduced with
 * plain amqplib on the test cluster: opened 0.1 s after the kill, every publish nacked for 15 s; opened
 * 1 s after, every publish acked). test/cluster sends through such a failover.
 */
export class ConfirmPublisher {
  private channel: ConfirmChannel | undefined;
  /** Every unsettled publish by message id, in publish order (queued or written). */
  private readonly pending = new Map<string, Pending>();
  /**
   * Publishes waiting for the socket to drain, oldest first. Backpressure is a queue rather than a promise
   * every caller awaits: on 'drain' the writer takes exactly as many as the socket accepts, where waking
   * thousands of waiters to re-check would cost a microtask each, for each drain.
   */
  private backlog: Pending[] = [];
  private backlogHead = 0;
  /** Live (unsettled) publishes in the backlog and their content bytes; settled ones are skipped there. */
  private queuedCount = 0;
  private queuedBytes = 0;
  private blocked = false;
  /** Callers of `whenWritable()` waiting for room. */
  private writableWaiters: (() => void)[] = [];
  private sequence = 0;
  private closing = false;
  /** One timer per 10 ms of deadlines, not one per publish (deadlineSlots.ts). */
  private readonly deadlines = new DeadlineSlots(10, (now) => this.expire(now));
  /** With `resend`: the connection was lost; publishes wait for the next channel instead of failing. */
  private waiting = false;
  /** Channels the broker closed with an error (a channel-level fault, not a lost connection). */
  private readonly faulted = new WeakSet<ConfirmChannel>();
  /** Channels being replaced after a nack, and how many replacements in a row. */
  private readonly nacked = new WeakSet<ConfirmChannel>();
  private nackStreak = 0;

  constructor(private readonly options: ConfirmPublisherOptions) {}

  /** True when a confirm channel is open. */
  get ready(): boolean {
    return this.channel !== undefined;
  }

  /** Publishes not yet confirmed (queued or written). */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Publishes waiting for the connection's write buffer to drain, not yet handed to amqplib. */
  get queued(): number {
    return this.queuedCount;
  }

  /**
   * False while the connection's write buffer is full: a publish now would queue in memory. True when there
   * is no channel (a publish then fails at once rather than waiting).
   */
  get writable(): boolean {
    return this.channel === undefined || (!this.blocked && this.queued === 0);
  }

  /**
   * Resolves true once `writable` is true (how a bulk sender paces itself instead of queueing everything),
   * false when `timeoutMs` passed first.
   */
  whenWritable(timeoutMs: number): Promise<boolean> {
    if (this.writable) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.writableWaiters = this.writableWaiters.filter((waiter) => waiter !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.writableWaiters.push(wake);
    });
  }

  /** Open a confirm channel on a (re)connected connection; call from the connection's setup hook. */
  async attach(connection: ChannelModel): Promise<void> {
    const channel = await connection.createConfirmChannel();
    channel.on("error", (error: Error) => {
      this.faulted.add(channel);
      this.options.logger.warn({ err: error.message }, "publish channel error");
    });
    channel.on("return", (message: { properties: { messageId?: string } }) => {
      const entry = message.properties.messageId ? this.pending.get(message.properties.messageId) : undefined;
      if (entry) entry.returned = true;
    });
    channel.on("drain", () => {
      if (this.channel !== channel) return;
      this.blocked = false;
      this.writeBacklog();
    });
    channel.once("close", () => {
      if (this.channel !== channel && !this.nacked.has(channel)) return;
      this.channel = undefined;
      if (this.resends(channel)) this.waiting = true;
      else this.failAll("PUBLISH_CONNECTION_LOST", "the channel closed before the publish was confirmed");
      this.wakeWriters();
      // A channel-level error (e.g. a publish to a deleted exchange) leaves the connection up: reopen. After
      // a nack, wait a little (longer each time in a row): the queue may still be electing its leader.
      if (!this.closing) {
        const delayMs = this.nacked.has(channel) ? Math.min(2_000, 100 * 2 ** this.nackStreak++) : 0;
        setTimeout(() => {
          if (this.closing || this.channel) return;
          this.attach(connection).catch((error: Error) =>
            this.options.logger.debug(
              { err: error.message },
              "publish channel not reopened; waiting for reconnect",
            ),
          );
        }, delayMs).unref();
      }
    });
    this.channel = channel;
    this.blocked = false;
    if (this.waiting) {
      // What waited (unconfirmed before the loss, and sent meanwhile) goes out first, in publish order.
      this.waiting = false;
      this.backlog = [...this.pending.values()].filter((entry) => entry.queued);
      this.backlogHead = 0;
      this.writeBacklog();
    }
  }

  /**
   * End the wait for a new channel (`resend`): every publish still waiting rejects with `code` — those
   * written before the loss "may or may not have arrived", the others "were not published".
   */
  failWaiting(code: "PUBLISH_CONNECTION_LOST" | "PUBLISH_CIRCUIT_OPEN", why: string): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.failAll(code, why);
  }

  /** Whether what `channel` left unconfirmed waits for the next channel: a lost connection, not a fault. */
  private resends(channel: ConfirmChannel): boolean {
    return this.options.resend === true && !this.closing && !this.faulted.has(channel);
  }

  /** Resolves when the broker confirmed the message; rejects with a typed error otherwise. */
  publish(request: PublishRequest, deadlineMs = this.options.deadlineMs): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.submit(request, deadlineMs, (error) => (error ? reject(error) : resolve())),
    );
  }

  /**
   * `publish` without a promise, for senders of many messages (producer.sendMany): `done` runs once, when
   * the broker confirmed the message (undefined) or with the typed error; at once when it is refused.
   */
  submit(request: PublishRequest, deadlineMs: number, done: PublishDone): void {
    if (!this.channel && !this.waiting) {
      const why = `Not connected: ${request.routingKey} was not published.`;
      const hint = "wait for the producer to be available (producer.available) or retry later";
      done(new ToolboxError("PUBLISH_CONNECTION_LOST", why, { hint }));
      return;
    }
    const size = request.content.length;
    const limit = this.options.maxQueuedBytes ?? Number.POSITIVE_INFINITY;
    const holding = this.blocked || !this.channel;
    if (holding && this.queuedCount > 0 && this.queuedBytes + size > limit) {
      done(backlogFull(request.routingKey, this.queuedCount, this.queuedBytes, limit));
      return;
    }
    const id = `${this.options.name}:${++this.sequence}`;
    const deadline = Date.now() + deadlineMs;
    const entry: Pending = {
      id,
      exchange: request.exchange,
      routingKey: request.routingKey,
      unwritten: request,
      copy: this.options.resend ? request : undefined,
      written: false,
      done,
      deadline,
      slot: this.deadlines.add(deadline),
      deadlineMs,
      returned: false,
      queued: holding,
    };
    this.pending.set(id, entry);
    if (entry.queued) {
      this.backlog.push(entry);
      this.queuedCount++;
      this.queuedBytes += size;
    } else {
      this.write(entry);
    }
  }

  /** Wait for outstanding confirms up to `deadlineMs`, reject the rest, close the channel. */
  async close(deadlineMs = this.options.deadlineMs): Promise<void> {
    this.closing = true;
    this.waiting = false;
    const until = Date.now() + deadlineMs;
    while (this.pending.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    this.failAll("CLOSED", "the publisher closed before the broker confirmed the publish");
    const channel = this.channel;
    this.channel = undefined;
    this.wakeWriters();
    await channel?.close().catch(() => undefined);
  }

  private writeBacklog(): void {
    while (!this.blocked && this.channel && this.backlogHead < this.backlog.length) {
      const entry = this.backlog[this.backlogHead++]!;
      // Settled while queued (its deadline passed): it was never written, so nothing to do.
      if (!entry.queued) continue;
      this.unqueue(entry);
      this.write(entry);
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    }
    this.wakeWriters();
  }

  private wakeWriters(): void {
    if (!this.writable || this.writableWaiters.length === 0) return;
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const wake of waiters) wake();
  }

  private write(entry: Pending): void {
    const channel = this.channel!;
    const { exchange, routingKey, content, properties } = entry.unwritten!;
    try {
      // When the socket buffer is full, later publishes queue until 'drain'.
      this.blocked = !framedPublish(channel, exchange, routingKey, content, properties, entry.id, (error) => {
        // amqplib fails every unconfirmed publish when the channel closes, before 'close' is emitted.
        if (error && this.resends(channel)) {
          this.requeue(entry);
          if (error.message === "message nacked") this.replaceAfterNack(channel);
          return;
        }
        if (!error) this.nackStreak = 0;
        // Without resend the nack is the caller's answer; the channel is replaced all the same.
        else if (error.message === "message nacked") this.replaceAfterNack(channel);
        this.settle(
          entry,
          error ? confirmError(routingKey, error) : entry.returned ? unroutable(entry) : undefined,
        );
      });
      entry.unwritten = undefined;
      entry.written = true;
    } catch (error) {
      this.settle(
        entry,
        new ToolboxError(
          "PUBLISH_CONNECTION_LOST",
          `Publishing ${routingKey} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        ),
      );
    }
  }

  /** Close a channel that nacked (once); its close handler opens the next one, where everything waiting goes. */
  private replaceAfterNack(channel: ConfirmChannel): void {
    if (this.nacked.has(channel)) return;
    this.nacked.add(channel);
    // Nothing more goes to it: new publishes wait for the next channel (resend) or fail fast.
    if (this.channel === channel) {
      this.channel = undefined;
      if (this.resends(channel)) this.waiting = true;
    }
    this.options.logger.warn("the broker refused a publish (nack); resending on a new channel");
    channel.close().catch(() => undefined);
  }

  /** A written publish whose channel was lost: back to waiting, to be written on the next channel. */
  private requeue(entry: Pending): void {
    if (!this.pending.has(entry.id) || entry.queued || !entry.copy) return;
    entry.unwritten = entry.copy;
    entry.returned = false;
    entry.queued = true;
    this.queuedCount++;
    this.queuedBytes += entry.copy.content.length;
  }

  /** Take a publish out of the backlog's accounting (written now, or settled while it waited). */
  private unqueue(entry: Pending): void {
    entry.queued = false;
    this.queuedCount--;
    this.queuedBytes -= entry.unwritten!.content.length;
  }

  private settle(entry: Pending, error?: ToolboxError): void {
    if (!this.pending.delete(entry.id)) return;
    this.deadlines.remove(entry.slot);
    if (entry.queued) {
      this.unqueue(entry);
      entry.unwritten = undefined;
      this.compactBacklog();
    }
    entry.copy = undefined;
    entry.done(error);
  }

  /** A deadline slot ended: time out every publish whose deadline passed (in publish order). */
  private expire(now: number): void {
    const expired: Pending[] = [];
    for (const entry of this.pending.values()) if (entry.deadline <= now) expired.push(entry);
    for (const entry of expired) this.settle(entry, publishTimeout(entry, entry.deadlineMs));
  }

  /**
   * Drop settled entries from the backlog once they are most of it, so a long block (a memory alarm) with
   * sends timing out while queued holds only what still waits, not everything that ever waited.
   */
  private compactBacklog(): void {
    const waiting = this.backlog.length - this.backlogHead;
    if (waiting < 1024 || this.queuedCount * 2 > waiting) return;
    this.backlog = this.backlog.slice(this.backlogHead).filter((entry) => entry.queued);
    this.backlogHead = 0;
  }

  private failAll(code: "PUBLISH_CONNECTION_LOST" | "PUBLISH_CIRCUIT_OPEN" | "CLOSED", why: string): void {
    for (const entry of [...this.pending.values()]) {
      const fate = entry.written ? "it may or may not have arrived" : "it was not published";
      this.settle(entry, new ToolboxError(code, `${entry.routingKey}: ${why}; ${fate}.`));
    }
    this.backlog = [];
    this.backlogHead = 0;
  }
}
