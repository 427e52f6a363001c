/**
 * @worker-toolbox/runtime/broker — the self-healing amqplib connection (reconnect with backoff, a setup hook
 * after every reconnect, failover across a cluster's nodes, fatal errors told apart), the confirm publisher
 * every publish goes through, one round over the nodes for a command-line tool, and the classification of
 * broker errors into typed ToolboxErrors.
 */
export { classifyBrokerError, vhostOf } from "../broker/classifyError.js";
export { ConfirmPublisher, type PublishRequest } from "../broker/confirmPublisher.js";
export {
  BrokerConnection,
  type BrokerConnectionOptions,
  type BrokerState,
  isFatalBrokerError,
} from "../broker/connection.js";
export {
  type BrokerNodes,
  brokerNodes,
  brokerSocketOptions,
  type ConnectAnyOptions,
  connectAnyNode,
} from "../broker/nodes.js";
