import type { ToolboxConfig } from "@worker-toolbox/config";
import { brokerSocketOptions, classifyBrokerError } from "@worker-toolbox/runtime/broker";
import amqp, { type ChannelModel } from "amqplib";

/**
 * One connection attempt for a CLI command: a command should fail fast with a clear reason
 * (refused, credentials, vhost, TLS) rather than reconnect in the background like a service does.
 */
export async function connectOnce(config: ToolboxConfig): Promise<ChannelModel> {
  try {
    const connection = await amqp.connect(config.broker.url, socketOptions(config));
    // Without a listener a connection 'error' would crash the process; the command sees the failed call.
    connection.on("error", () => {});
    return connection;
  } catch (error) {
    throw classifyBrokerError(error, config.broker.url);
  }
}

/** Timeout, a connection name for the management UI, and the TLS files of `broker.tls`. */
export function socketOptions(config: ToolboxConfig): Record<string, unknown> {
  return brokerSocketOptions(config, "worker-toolbox cli");
}
