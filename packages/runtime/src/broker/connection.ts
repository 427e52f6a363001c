import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { maskUrl, type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import amqp, { type ChannelModel } from "amqplib";
import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import type { Logger } from "pino";
import { classifyBrokerError } from "./classifyError.js";

/**
 * One AMQP connection that keeps itself alive. amqplib does not recover connections, so this does:
 * connect in the background (an app starts while the broker is down), retry with exponential backoff and
 * jitter (cockatiel), re-run `setup` after every reconnect (declare topology, open channels, resubscribe),
 * and stop at once on errors retrying cannot fix (credentials, vhost, TLS, topology drift).
 *
 *   connecting ──► connected ──(connection lost)──► recovering ──► connected ...
 *        │                                              │
 *        └──────────(fatal error)──► failed ◄───────────┘        close() ──► closed
 */
export type BrokerState = "connecting" | "connected" | "recovering" | "failed" | "closed";

export interface BrokerConnectionOptions {
  config: ToolboxConfig;
  logger: Logger;
  /** Shown as the connection name in the RabbitMQ management UI. */
  name: string;
  /** Runs after every (re)connect, before the state becomes `connected`. */
  setup?: (connection: ChannelModel) => Promise<void>;
}

type Events = { state: [state: BrokerState, error: ToolboxError | undefined] };

export class BrokerConnection extends EventEmitter<Events> {
  state: BrokerState = "connecting";
  /** The error behind the current `recovering` or `failed` state. */
  lastError: ToolboxError | undefined;
  /** The live connection while `connected`. */
  current: ChannelModel | undefined;

  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly url: string;

  constructor(private readonly options: BrokerConnectionOptions) {
    super();
    this.url = options.config.broker.url;
  }

  /** Start connecting in the background. Never throws; watch `state` or await `ready()`. */
  start(): this {
    this.running ??= this.run();
    return this;
  }

  /** Resolves with the connection once connected; rejects on a fatal error, on close, or after `timeoutMs`. */
  ready(timeoutMs = this.options.config.broker.connectTimeoutMs): Promise<ChannelModel> {
    this.start();
    if (this.state === "connected" && this.current) return Promise.resolve(this.current);
    if (this.state === "failed" || this.state === "closed") return Promise.reject(this.terminalError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("state", onState);
        reject(
          this.lastError ??
            new ToolboxError(
              "BROKER_UNAVAILABLE",
              `No connection to RabbitMQ at ${maskUrl(this.url)} within ${timeoutMs} ms.`,
            ),
        );
      }, timeoutMs);
      const onState = (state: BrokerState) => {
        if (state === "connected" && this.current) resolve(this.current);
        else if (state === "failed" || state === "closed") reject(this.terminalError());
        else return;
        clearTimeout(timer);
        this.off("state", onState);
      };
      this.on("state", onState);
    });
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.abort.abort();
    const connection = this.current;
    this.current = undefined;
    this.setState("closed", undefined);
    await connection?.close().catch(() => undefined);
    await this.running;
  }

  private terminalError(): ToolboxError {
    return this.lastError ?? new ToolboxError("CLOSED", "The broker connection is closed.");
  }

  private setState(state: BrokerState, error: ToolboxError | undefined): void {
    if (this.state === "closed" && state !== "closed") return;
    this.state = state;
    this.lastError = error;
    this.emit("state", state, error);
  }

  private async run(): Promise<void> {
    const { config, logger } = this.options;
    const policy = retry(
      handleWhen((error) => !(error instanceof ToolboxError && isFatalBrokerError(error))),
      {
        maxAttempts: Number.POSITIVE_INFINITY,
        backoff: new ExponentialBackoff({
          initialDelay: config.broker.reconnectInitialDelayMs,
          maxDelay: config.broker.reconnectMaxDelayMs,
        }),
      },
    );
    policy.onRetry(({ delay, attempt, ...reason }) => {
      const error = "error" in reason ? reason.error : undefined;
      logger.warn(
        { attempt, delayMs: Math.round(delay), err: error?.message },
        "broker unavailable, retrying",
      );
    });

    while (!this.abort.signal.aborted) {
      let connection: ChannelModel;
      try {
        connection = await policy.execute(() => this.connectOnce(), this.abort.signal);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        const classified = classifyBrokerError(error, this.url);
        logger.error({ code: classified.code, err: classified.message }, "broker connection failed for good");
        this.setState("failed", classified);
        return;
      }
      // close() while the attempt was in flight: nobody else will close this connection.
      if (this.abort.signal.aborted) {
        await connection.close().catch(() => undefined);
        return;
      }
      this.current = connection;
      this.setState("connected", undefined);
      logger.info({ broker: maskUrl(this.url) }, "connected to broker");
      const lost = await new Promise<Error | undefined>((resolve) => connection.once("close", resolve));
      this.current = undefined;
      if (this.abort.signal.aborted) return;
      const classified = classifyBrokerError(lost ?? new Error("connection closed"), this.url);
      logger.warn({ err: classified.message }, "broker connection lost, reconnecting");
      this.setState("recovering", classified);
    }
  }

  private async connectOnce(): Promise<ChannelModel> {
    if (this.abort.signal.aborted) throw new ToolboxError("CLOSED", "closed while connecting");
    const { config, name } = this.options;
    let connection: ChannelModel;
    try {
      connection = await amqp.connect(connectionUrl(config), brokerSocketOptions(config, name));
    } catch (error) {
      const classified = classifyBrokerError(error, this.url);
      if (this.state !== "connecting") this.lastError = classified;
      throw classified;
    }
    // An 'error' without a listener would crash the process; 'close' follows and drives recovery.
    connection.on("error", (error: Error) =>
      this.options.logger.warn({ err: error.message }, "broker connection error"),
    );
    connection.on("blocked", (reason: string) =>
      this.options.logger.warn({ reason }, "broker blocked publishing (resource alarm)"),
    );
    connection.on("unblocked", () => this.options.logger.info("broker unblocked publishing"));
    try {
      await this.options.setup?.(connection);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    return connection;
  }
}

/** Errors that retrying cannot fix: reported at once instead of retried forever. */
export function isFatalBrokerError(error: ToolboxError): boolean {
  return [
    "BROKER_AUTH_FAILED",
    "BROKER_VHOST_NOT_FOUND",
    "BROKER_TLS_FAILED",
    "TOPOLOGY_MISMATCH",
    "CONFIG_INVALID",
  ].includes(error.code);
}

function connectionUrl(config: ToolboxConfig): string {
  const url = new URL(config.broker.url);
  if (!url.searchParams.has("heartbeat"))
    url.searchParams.set("heartbeat", String(config.broker.heartbeatSeconds));
  return url.toString();
}

/**
 * amqplib socket options: connect timeout, a connection name for the management UI, `broker.tls`, and
 * `noDelay`. amqplib leaves Nagle's algorithm on unless told otherwise; then a small frame written while an
 * earlier one is unacknowledged waits for the peer's delayed ACK (40 ms on Linux), and a 1 KB task's
 * round trip took 49 ms instead of 4 (issue 20). AMQP frames are written whole, so there is nothing to
 * coalesce that amqplib does not already batch per event-loop turn.
 */
export function brokerSocketOptions(config: ToolboxConfig, name: string): Record<string, unknown> {
  const tls = config.broker.tls;
  const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
  return {
    noDelay: true,
    timeout: config.broker.connectTimeoutMs,
    clientProperties: { connection_name: name },
    ...(config.broker.url.startsWith("amqps:")
      ? {
          ca: tls.caFile ? [read(tls.caFile)] : undefined,
          cert: read(tls.certFile),
          key: read(tls.keyFile),
          passphrase: tls.passphrase,
          rejectUnauthorized: tls.rejectUnauthorized,
          servername: tls.servername ?? new URL(config.broker.url).hostname,
        }
      : {}),
  };
}
