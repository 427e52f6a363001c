/**
 * The handler test kit (`runTask`, `testTaskContext`, `expectSent`; docs/development.md) and throwaway
 * RabbitMQ (one node or a cluster), PostgreSQL and npm registry (Verdaccio) servers for tests
 * (`@worker-toolbox/testing`).
 * Used by this repo's vitest global setup, by generated worker services and by the conformance
 * suite. Every server lives in a temp dir on loopback and is killed when the process exits — except the
 * dev servers (`startDevServers`), which `worker-toolbox dev` keeps running between its runs.
 */

export { maskUrl } from "@worker-toolbox/config";
export { createTestDatabase, type TestDatabase } from "./database.js";
export {
  type DevServerOptions,
  type DevServerOrigin,
  type DevServers,
  devServersStatus,
  devStateDir,
  startDevServers,
  stopDevServers,
} from "./devServers.js";
export { closeConnectionsNamed, connectionNodes } from "./faults.js";
export * from "./kit/index.js";
export { type LocalServers, type StartLocalServersOptions, startLocalServers } from "./localServers.js";
export { createTestNamespace, type DeletedNamespace, deleteNamespace } from "./namespace.js";
export { getFreePort } from "./ports.js";
export {
  findPostgresBinDir,
  type PostgresServer,
  type StartPostgresOptions,
  startPostgres,
} from "./postgres.js";
export {
  findRabbitMQBinDir,
  type RabbitMQServer,
  type StartRabbitMQOptions,
  startRabbitMQ,
} from "./rabbitmq.js";
export {
  type RabbitMQCluster,
  type StartRabbitMQClusterOptions,
  startRabbitMQCluster,
} from "./rabbitmqCluster.js";
export { type RegistryServer, type StartRegistryOptions, startRegistry } from "./registry.js";
