/**
 * @worker-toolbox/runtime — everything that talks to RabbitMQ (amqplib) or PostgreSQL (pg):
 * broker/ (self-healing connection, confirm publisher), management/ (RabbitMQ HTTP API), topology/
 * (apply, verify), protocol/ (Celery v2 codec, trace context), producer/, worker/, health/ (the
 * /healthz /readyz /metrics endpoint), logging/ (JSON or readable log lines, crash reports), results/
 * (result backend, migrations, grants), tracker/, ops/ (doctor, monitor, dead letters). Throwaway test
 * servers live in `@worker-toolbox/testing`.
 */
export { classifyBrokerError, vhostOf } from "./broker/classifyError.js";
export { ConfirmPublisher, type PublishRequest } from "./broker/confirmPublisher.js";
export {
  BrokerConnection,
  type BrokerConnectionOptions,
  type BrokerState,
  brokerSocketOptions,
  isFatalBrokerError,
} from "./broker/connection.js";
export * from "./canvas/index.js";
export * from "./health/index.js";
export * from "./logging/index.js";
export * from "./management/index.js";
export * from "./ops/index.js";
export * from "./producer/index.js";
export * from "./protocol/index.js";
export * from "./results/index.js";
export * from "./topology/index.js";
export * from "./tracker/index.js";
export * from "./worker/index.js";
