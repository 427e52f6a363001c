import { EventEmitter } from "node:events";
import { ToolboxError } from "@worker-toolbox/config";
import type { ChannelModel, ConfirmChannel, Options } from "amqplib";
import type { Logger } from "pino";

/**
 * Publishes on a confirm channel with `mandatory` set, and turns every way a publish can end into a
 * settled promise: the broker's ack resolves it; a nack, a basic.return (no queue matched), the channel or
 * connection closing, and the deadline passing reject it with a typed error. Nothing is fire-and-forget
 * and no promise is left hanging when the connection drops (amqplib leaves that to its users).
 *
 * A publish that timed out or lost its connection MAY still have reached the broker: callers treat that
 * as "unknown" and may resend with the same task id, which the result and tracking writes make harmless.
 */
export interface PublishRequest {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
}

interface Pending {
  settle: (error?: ToolboxError) => void;
  returned: boolean;
  routingKey: string;
}

export class ConfirmPublisher extends EventEmitter<{ drained: [] }> {
  private channel: ConfirmChannel | undefined;
  private readonly pending = new Map<string, Pending>();
  private sequence = 0;
  private draining: Promise<void> | undefined;
  private closing = false;

  constructor(private readonly options: { logger: Logger; deadlineMs: number; name: string }) {
    super();
  }

  /** True when a confirm channel is open. */
  get ready(): boolean {
    return this.channel !== undefined;
  }

  get outstanding(): number {
    return this.pending.size;
  }

  /** Open a confirm channel on a (re)connected connection; call from the connection's setup hook. */
  async attach(connection: ChannelModel): Promise<void> {
    const channel = await connection.createConfirmChannel();
    channel.on("error", (error: Error) =>
      this.options.logger.warn({ err: error.message }, "publish channel error"),
    );
    channel.on("return", (message: { properties: { messageId?: string } }) => {
      const entry = message.properties.messageId ? this.pending.get(message.properties.messageId) : undefined;
      if (entry) entry.returned = true;
    });
    channel.on("drain", () => this.emit("drained"));
    channel.once("close", () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.failAll("PUBLISH_CONNECTION_LOST", "the channel closed before the publish was confirmed");
      // A channel-level error (e.g. a publish to a deleted exchange) leaves the connection up: reopen.
      if (!this.closing) {
        this.attach(connection).catch((error: Error) =>
          this.options.logger.debug(
            { err: error.message },
            "publish channel not reopened; waiting for reconnect",
          ),
        );
      }
    });
    this.channel = channel;
  }

  /** Resolves when the broker confirmed the message; rejects with a typed error otherwise. */
  async publish(request: PublishRequest, deadlineMs = this.options.deadlineMs): Promise<void> {
    if (this.draining) await this.draining;
    const channel = this.channel;
    if (!channel) {
      throw new ToolboxError(
        "PUBLISH_CONNECTION_LOST",
        `Not connected: ${request.routingKey} was not published.`,
        {
          hint: "wait for the producer to be available (producer.available) or retry later",
        },
      );
    }
    const publishId = `${this.options.name}:${++this.sequence}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          entry.settle(
            new ToolboxError(
              "PUBLISH_TIMEOUT",
              `The broker did not confirm ${request.routingKey} within ${deadlineMs} ms.`,
              {
                hint: "the broker may be overloaded or blocked (resource alarm); the message may or may not have arrived",
              },
            ),
          ),
        deadlineMs,
      );
      const entry: Pending = {
        returned: false,
        routingKey: request.routingKey,
        settle: (error) => {
          if (!this.pending.delete(publishId)) return;
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        },
      };
      this.pending.set(publishId, entry);
      let writable = true;
      try {
        writable = channel.publish(
          request.exchange,
          request.routingKey,
          request.content,
          { ...request.properties, messageId: publishId, mandatory: true },
          (error) => {
            if (error && error.message !== "message nacked") {
              // amqplib fails outstanding confirms with "channel closed" when the channel dies: not a nack.
              entry.settle(
                new ToolboxError(
                  "PUBLISH_CONNECTION_LOST",
                  `${request.routingKey}: the channel closed before the confirm.`,
                  {
                    cause: error,
                  },
                ),
              );
            } else if (error) {
              entry.settle(
                new ToolboxError("PUBLISH_NACKED", `The broker refused ${request.routingKey} (nack).`, {
                  cause: error,
                }),
              );
            } else if (entry.returned) {
              entry.settle(
                new ToolboxError(
                  "PUBLISH_UNROUTABLE",
                  `No queue is bound for ${request.routingKey} on ${request.exchange}.`,
                  {
                    hint: "apply the topology (worker-toolbox topology apply) or check the task name's service prefix",
                  },
                ),
              );
            } else {
              entry.settle();
            }
          },
        );
      } catch (error) {
        entry.settle(
          new ToolboxError(
            "PUBLISH_CONNECTION_LOST",
            `Publishing ${request.routingKey} failed: ${(error as Error).message}`,
            {
              cause: error,
            },
          ),
        );
        return;
      }
      // Backpressure: when the socket buffer is full, later publishes wait for 'drain'.
      if (!writable && !this.draining) {
        this.draining = new Promise<void>((done) => {
          const release = () => {
            this.off("drained", release);
            channel.off("close", release);
            this.draining = undefined;
            done();
          };
          this.once("drained", release);
          channel.once("close", release);
        });
      }
    });
  }

  /** Wait for outstanding confirms up to `deadlineMs`, reject the rest, close the channel. */
  async close(deadlineMs = this.options.deadlineMs): Promise<void> {
    this.closing = true;
    const until = Date.now() + deadlineMs;
    while (this.pending.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    this.failAll("CLOSED", "the publisher closed before the broker confirmed the publish");
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  private failAll(code: "PUBLISH_CONNECTION_LOST" | "CLOSED", why: string): void {
    for (const entry of [...this.pending.values()]) {
      entry.settle(new ToolboxError(code, `${entry.routingKey}: ${why}; it may or may not have arrived.`));
    }
  }
}
