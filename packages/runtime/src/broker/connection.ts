import { EventEmitter } from "node:events";
import { maskUrl, type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import amqp, { type ChannelModel } from "amqplib";
import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import type { Logger } from "pino";
import { batchSocketWrites } from "./batchedWrites.js";
import { classifyBrokerError } from "./classifyError.js";
import { decodeContentHeaders } from "./frameDecoding.js";
import {
  type BrokerNodes,
  brokerNodes,
  brokerSocketOptions,
  dialUrl,
  type NodeFailure,
  roundFailure,
} from "./nodes.js";

/**
 * One AMQP connection that keeps itself alive. amqplib does not recover connections, so this does:
 * connect in the background (an app starts while the broker is down), retry with exponential backoff and
 * jitter (cockatiel), re-run `setup` after every reconnect (declare topology, open channels, resubscribe),
 * and stop at once on errors retrying cannot fix (credentials, vhost, TLS, topology drift).
 *
 * With several broker URLs (a cluster) each attempt is a round over the nodes (nodes.ts): a lost node is
 * replaced by the next one at once, without waiting for the backoff, which only starts once a whole round
 * failed. `node` says which node is in use; the log says when it changes.
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
  /**
   * Who tells the user the connection failed for good: `log` (default) logs it here, at error level with its
   * code and fix; `owner` leaves it to the owner, which hears the `failed` state (the worker: its start()
   * rejects with the error, or it logs it once running), so it is reported once.
   */
  failureReport?: "log" | "owner";
}

type Events = {
  state: [state: BrokerState, error: ToolboxError | undefined];
  /** A whole round failed: no node accepted a connection (emitted before each backoff delay). */
  unreachable: [error: ToolboxError];
};

export class BrokerConnection extends EventEmitter<Events> {
  state: BrokerState = "connecting";
  /** The error behind the current `recovering` or `failed` state. */
  lastError: ToolboxError | undefined;
  /** The live connection while `connected`. */
  current: ChannelModel | undefined;

  /**
   * The node in use while `connected` (the last one used otherwise), its password masked; for logs and
   * health endpoints.
   */
  node: string | undefined;
  /**
   * True from the loss of a connection until another node accepted one or every node was tried once; only
   * with several nodes. A producer holds its sends meanwhile instead of failing them.
   */
  failingOver = false;

  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly nodes: BrokerNodes;

  constructor(private readonly options: BrokerConnectionOptions) {
    super();
    this.nodes = brokerNodes(options.config);
  }

  /** Every node URL with its password masked, in the order they are tried. */
  get nodeList(): string[] {
    return this.nodes.urls.map(maskUrl);
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
              `No connection to RabbitMQ at ${this.nodeList.join(", ")} within ${timeoutMs} ms.`,
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
      this.failingOver = false;
      if (error instanceof ToolboxError) this.emit("unreachable", error);
    });

    let lostNode: string | undefined;
    while (!this.abort.signal.aborted) {
      let connected: { connection: ChannelModel; url: string };
      try {
        connected = await policy.execute(() => this.connectRound(), this.abort.signal);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        const classified = classifyBrokerError(error, this.nodes.urls[0] ?? "");
        if (this.options.failureReport !== "owner") {
          const { code, hint, message } = classified;
          logger.error({ code, hint, err: message }, "broker connection failed for good");
        }
        this.failingOver = false;
        this.setState("failed", classified);
        return;
      }
      const { connection, url } = connected;
      // close() while the attempt was in flight: nobody else will close this connection.
      if (this.abort.signal.aborted) {
        await connection.close().catch(() => undefined);
        return;
      }
      this.current = connection;
      this.node = maskUrl(url);
      this.failingOver = false;
      this.setState("connected", undefined);
      if (lostNode && lostNode !== this.node)
        logger.warn({ broker: this.node, from: lostNode }, "failed over to another broker node");
      else logger.info({ broker: this.node }, "connected to broker");
      const lost = await new Promise<Error | undefined>((resolve) => connection.once("close", resolve));
      this.current = undefined;
      if (this.abort.signal.aborted) return;
      lostNode = this.node;
      const classified = classifyBrokerError(lost ?? new Error("connection closed"), url);
      const others = this.nodes.urls.length > 1;
      logger.warn(
        { broker: this.node, err: classified.message },
        others ? "broker connection lost, failing over" : "broker connection lost, reconnecting",
      );
      this.failingOver = others;
      this.setState("recovering", classified);
    }
  }

  /** One round over the nodes: the first that connects and passes `setup`, or the round's error. */
  private async connectRound(): Promise<{ connection: ChannelModel; url: string }> {
    const failures: NodeFailure[] = [];
    for (const url of this.nodes.roundOrder()) {
      if (this.abort.signal.aborted) throw new ToolboxError("CLOSED", "closed while connecting");
      try {
        const connection = await this.connectTo(url);
        this.nodes.used(url);
        return { connection, url };
      } catch (error) {
        const classified = classifyBrokerError(error, url);
        failures.push({ url, error: classified });
        if (this.nodes.urls.length > 1)
          this.options.logger.debug({ broker: maskUrl(url), err: classified.message }, "broker node refused");
      }
    }
    const error = roundFailure(failures, isFatalBrokerError);
    if (this.state !== "connecting") this.lastError = error;
    throw error;
  }

  private async connectTo(url: string): Promise<ChannelModel> {
    const { config, name } = this.options;
    const connection = await amqp.connect(dialUrl(config, url), brokerSocketOptions(config, name, url));
    batchSocketWrites(connection);
    decodeContentHeaders(connection);
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
