import { inject } from "vitest";
import "../setup/provided.js";

export interface TestServers {
  amqpUrl: string;
  databaseUrl: string;
  /** undefined when the broker's management API is unknown. */
  managementUrl: string | undefined;
}

/** The server URLs the integration project's global setup provides. */
export function testServers(): TestServers {
  const amqpUrl = inject("amqpUrl");
  const databaseUrl = inject("databaseUrl");
  if (!amqpUrl || !databaseUrl) {
    throw new Error("no test servers were provided: run this file in the vitest `integration` project");
  }
  return { amqpUrl, databaseUrl, managementUrl: inject("managementUrl") || undefined };
}
