import type { ToolboxConfig } from "@worker-toolbox/config";
import { connectAnyNode } from "@worker-toolbox/runtime/broker";
import type { ChannelModel } from "amqplib";

/**
 * One connection attempt for a CLI command: a command should fail fast with a clear reason
 * (refused, credentials, vhost, TLS) rather than reconnect in the background like a service does. With a
 * cluster's list of nodes, each node is tried once, in failover order. TCP_NODELAY is on
 * (brokerSocketOptions): `dlq list` and `replay` are a `basic.get` round trip per message.
 */
export async function connectOnce(config: ToolboxConfig): Promise<ChannelModel> {
  const { connection } = await connectAnyNode(config, { name: "worker-toolbox cli" });
  return connection;
}
