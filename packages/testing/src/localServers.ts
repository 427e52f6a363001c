import { type PostgresServer, type StartPostgresOptions, startPostgres } from "./postgres.js";
import { type RabbitMQServer, type StartRabbitMQOptions, startRabbitMQ } from "./rabbitmq.js";

export interface LocalServers {
  amqpUrl: string;
  /** Management HTTP API URL, when known (always when the broker was started here). */
  managementUrl?: string;
  /** A superuser URL (CREATE DATABASE / CREATE ROLE work). */
  databaseUrl: string;
  /** True when this call started at least one server; stop() only stops those. */
  started: boolean;
  rabbitmq?: RabbitMQServer;
  postgres?: PostgresServer;
  stop(): Promise<void>;
}

export interface StartLocalServersOptions {
  /** Where AMQP_URL, RABBITMQ_MANAGEMENT_URL and DATABASE_URL are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  rabbitmq?: StartRabbitMQOptions;
  postgres?: StartPostgresOptions;
}

/**
 * Use AMQP_URL / DATABASE_URL when set; start a throwaway RabbitMQ and/or PostgreSQL (in
 * parallel) for whichever is missing.
 */
export async function startLocalServers(options: StartLocalServersOptions = {}): Promise<LocalServers> {
  const env = options.env ?? process.env;
  const [rabbitmq, postgres] = await Promise.allSettled([
    env.AMQP_URL ? undefined : startRabbitMQ(options.rabbitmq),
    env.DATABASE_URL ? undefined : startPostgres(options.postgres),
  ]);
  if (rabbitmq.status === "rejected" || postgres.status === "rejected") {
    // Don't leave the one that did start running.
    if (rabbitmq.status === "fulfilled") await rabbitmq.value?.dispose();
    if (postgres.status === "fulfilled") await postgres.value?.dispose();
    throw rabbitmq.status === "rejected" ? rabbitmq.reason : (postgres as PromiseRejectedResult).reason;
  }
  const broker = rabbitmq.value;
  const database = postgres.value;
  const managementUrl = broker?.managementUrl ?? env.RABBITMQ_MANAGEMENT_URL;
  return {
    amqpUrl: broker?.url ?? (env.AMQP_URL as string),
    ...(managementUrl ? { managementUrl } : {}),
    databaseUrl: database?.url ?? (env.DATABASE_URL as string),
    started: broker !== undefined || database !== undefined,
    ...(broker ? { rabbitmq: broker } : {}),
    ...(database ? { postgres: database } : {}),
    async stop() {
      await Promise.all([broker?.dispose(), database?.dispose()]);
    },
  };
}
