import { maskUrl } from "@worker-toolbox/config";
import type { Logger } from "pino";

/** The broker and database `worker-toolbox dev` runs the worker against, and where each came from. */
export interface DevConnections {
  amqpUrl: string;
  managementUrl?: string;
  /** The results database (the dev cluster's `worker_toolbox` database, or the one named). */
  databaseUrl: string;
  broker: string;
  database: string;
}

export interface NamedUrls {
  amqpUrl?: string;
  managementUrl?: string;
  databaseUrl?: string;
}

/**
 * URLs named by flag or environment win; for what is not named, the local dev servers (kept running
 * between `dev` runs, see @worker-toolbox/testing's startDevServers) are started or reused. Nothing is
 * taken from a default port: no silent connection to whatever happens to listen on 5672.
 */
export async function devConnections(named: NamedUrls, logger: Logger): Promise<DevConnections> {
  if (named.amqpUrl && named.databaseUrl) {
    return {
      amqpUrl: named.amqpUrl,
      ...(named.managementUrl ? { managementUrl: named.managementUrl } : {}),
      databaseUrl: named.databaseUrl,
      broker: "named by AMQP_URL / --amqp-url",
      database: "named by DATABASE_URL / --database-url",
    };
  }
  const { startDevServers } = await import("@worker-toolbox/testing");
  const servers = await startDevServers({ onProgress: (text) => logger.info(text) });
  const managementUrl = named.amqpUrl ? named.managementUrl : servers.managementUrl;
  return {
    amqpUrl: named.amqpUrl ?? servers.amqpUrl,
    ...(managementUrl ? { managementUrl } : {}),
    databaseUrl: named.databaseUrl ?? servers.databaseUrl,
    broker: named.amqpUrl
      ? "named by AMQP_URL / --amqp-url"
      : `local dev server, ${servers.rabbitmq}; kept in ${servers.stateDir}`,
    database: named.databaseUrl
      ? "named by DATABASE_URL / --database-url"
      : `local dev server, ${servers.postgres}`,
  };
}

/** `amqp://guest:***@127.0.0.1:40123/ (local dev server, reused; …)` */
export function describeConnection(url: string, origin: string): string {
  return `${maskUrl(url)} (${origin})`;
}
