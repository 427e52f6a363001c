import { maskUrl, startLocalServers } from "@worker-toolbox/testing";
import type { TestProject } from "vitest/node";
import "./provided.js";

/**
 * Integration project: one RabbitMQ node and one PostgreSQL cluster per run, unless AMQP_URL /
 * DATABASE_URL point at running ones. Test files isolate themselves by prefix and database.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const servers = await startLocalServers();
  project.provide("amqpUrl", servers.amqpUrl);
  project.provide("databaseUrl", servers.databaseUrl);
  project.provide("managementUrl", servers.managementUrl ?? "");
  // Child processes that tests spawn (CLI, generated services, Celery) read the environment.
  process.env.AMQP_URL = servers.amqpUrl;
  process.env.DATABASE_URL = servers.databaseUrl;
  if (servers.managementUrl) process.env.RABBITMQ_MANAGEMENT_URL = servers.managementUrl;
  if (servers.started) {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `[globalSetup] test servers up in ${seconds}s: ${maskUrl(servers.amqpUrl)} ${maskUrl(servers.databaseUrl)}`,
    );
  }
  return async () => {
    await servers.stop();
  };
}
