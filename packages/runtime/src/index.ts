/**
 * @worker-toolbox/runtime — everything that talks to RabbitMQ (amqplib) or PostgreSQL (pg).
 * Throwaway test servers live in the separate `@worker-toolbox/runtime/testing` entry point.
 */

export { classifyBrokerError, vhostOf } from "./broker/classifyError.js";
export { ConfirmPublisher, type PublishRequest } from "./broker/confirmPublisher.js";
// Broker connection and publishing
export {
  BrokerConnection,
  type BrokerConnectionOptions,
  type BrokerState,
  brokerSocketOptions,
  isFatalBrokerError,
} from "./broker/connection.js";
// Health and metrics endpoint
export * from "./health/index.js";
// Operations: doctor, monitor, dead letters
export * from "./ops/index.js";
// Producer and worker
export * from "./producer/index.js";
// Celery protocol v2
export * from "./protocol/index.js";
// Result backend and tracking
export * from "./results/index.js";
// Topology
export * from "./topology/index.js";
export * from "./tracker/index.js";
export * from "./worker/index.js";
