/**
 * @worker-toolbox/runtime/broker — the self-healing amqplib connection (reconnect with backoff, a setup hook
 * after every reconnect, fatal errors told apart), the confirm publisher every publish goes through, and
 * the classification of broker errors into typed ToolboxErrors.
 */
export { classifyBrokerError, vhostOf } from "../broker/classifyError.js";
export { ConfirmPublisher, type PublishRequest } from "../broker/confirmPublisher.js";
export {
  BrokerConnection,
  type BrokerConnectionOptions,
  type BrokerState,
  brokerSocketOptions,
  isFatalBrokerError,
} from "../broker/connection.js";
