import { readFileSync } from "node:fs";
import { brokerUrls, maskUrl, type ToolboxConfig, ToolboxError } from "@worker-toolbox/config";
import amqp, { type ChannelModel } from "amqplib";
import { classifyBrokerError } from "./classifyError.js";

/**
 * The broker nodes a process may connect to, and one round of trying them. A round tries each node once,
 * in the order of `broker.failoverOrder`, and stops at the first that accepts the connection (and whose
 * `setup` succeeds). BrokerConnection runs rounds in its reconnect loop; a CLI command runs one.
 */
export interface BrokerNodes {
  /** Every node URL, in the order this process tries them (shuffled once for `random`). */
  readonly urls: readonly string[];
  /** The order of the next round: listed always starts at the first URL, random after the last one used. */
  roundOrder(): string[];
  /** Remember the node in use, so a random-order round after losing it starts at the next one. */
  used(url: string): void;
}

export function brokerNodes(config: ToolboxConfig, random: () => number = Math.random): BrokerNodes {
  const urls = brokerUrls(config);
  if (config.broker.failoverOrder === "random") shuffle(urls, random);
  let next = 0;
  return {
    urls,
    roundOrder() {
      if (config.broker.failoverOrder === "listed") return [...urls];
      return urls.map((_, i) => urls[(next + i) % urls.length]!);
    },
    used(url) {
      const index = urls.indexOf(url);
      if (index >= 0) next = (index + 1) % urls.length;
    },
  };
}

function shuffle(items: string[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

export interface NodeFailure {
  url: string;
  error: ToolboxError;
}

/**
 * The error of a round in which no node could be used. One node: its own error. Several: fatal only when
 * every node refused for a reason retrying cannot fix (credentials, vhost, TLS, topology drift: the same
 * on every node of a cluster); otherwise BROKER_UNAVAILABLE naming each node's reason, passwords masked.
 */
export function roundFailure(
  failures: readonly NodeFailure[],
  isFatal: (e: ToolboxError) => boolean,
): ToolboxError {
  const [first] = failures;
  if (!first) return new ToolboxError("BROKER_UNAVAILABLE", "no broker node to connect to");
  if (failures.length === 1) return first.error;
  const fatal = failures.filter((failure) => isFatal(failure.error));
  if (fatal.length === failures.length) return fatal[0]!.error;
  const reasons = failures.map(({ url, error }) => `${maskUrl(url)}: ${error.message.split("\n")[0]}`);
  return new ToolboxError(
    "BROKER_UNAVAILABLE",
    `no RabbitMQ node of ${failures.length} is reachable (${reasons.join("; ")})`,
    {
      cause: fatal[0]?.error ?? first.error,
      hint: "check that the cluster's nodes are running and that AMQP_URL lists them with the right hosts and ports",
    },
  );
}

/** The URL amqplib dials: the node's URL with the configured heartbeat unless it sets its own. */
export function dialUrl(config: ToolboxConfig, url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("heartbeat"))
    parsed.searchParams.set("heartbeat", String(config.broker.heartbeatSeconds));
  return parsed.toString();
}

/**
 * amqplib socket options: connect timeout, a connection name for the management UI, `broker.tls` (the TLS
 * server name defaults to the host of the node being dialled; default the first node), and `noDelay`.
 * amqplib leaves Nagle's algorithm on unless told otherwise; then a small frame written while an earlier
 * one is unacknowledged waits for the peer's delayed ACK (40 ms on Linux), and a 1 KB task's round trip
 * took 49 ms instead of 4 (issue 20). AMQP frames are written whole, so there is nothing to coalesce that
 * amqplib does not already batch per event-loop turn.
 */
export function brokerSocketOptions(
  config: ToolboxConfig,
  name: string,
  url: string = brokerUrls(config)[0] ?? "",
): Record<string, unknown> {
  const tls = config.broker.tls;
  const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
  return {
    noDelay: true,
    timeout: config.broker.connectTimeoutMs,
    clientProperties: { connection_name: name },
    ...(url.startsWith("amqps:")
      ? {
          ca: tls.caFile ? [read(tls.caFile)] : undefined,
          cert: read(tls.certFile),
          key: read(tls.keyFile),
          passphrase: tls.passphrase,
          rejectUnauthorized: tls.rejectUnauthorized,
          servername: tls.servername ?? new URL(url).hostname,
        }
      : {}),
  };
}

export interface ConnectAnyOptions {
  /** Connection name shown in the management UI. */
  name: string;
  /** Extra socket options merged over `brokerSocketOptions` (e.g. `noDelay`). */
  socketOptions?: Record<string, unknown>;
  /** Fatal errors end the round at once (default: never; every node is tried). */
  isFatal?: (error: ToolboxError) => boolean;
}

/**
 * One round for a command-line tool: the first node (in failover order) that accepts the connection.
 * Rejects with the round's error (roundFailure) when none does; never retries.
 */
export async function connectAnyNode(
  config: ToolboxConfig,
  options: ConnectAnyOptions,
): Promise<{ connection: ChannelModel; url: string }> {
  const failures: NodeFailure[] = [];
  for (const url of brokerNodes(config).roundOrder()) {
    try {
      const connection = await amqp.connect(dialUrl(config, url), {
        ...brokerSocketOptions(config, options.name, url),
        ...options.socketOptions,
      });
      // Without a listener a connection 'error' would crash the process; callers see the failed call.
      connection.on("error", () => {});
      return { connection, url };
    } catch (error) {
      failures.push({ url, error: classifyBrokerError(error, url) });
    }
  }
  throw roundFailure(failures, options.isFatal ?? (() => false));
}
