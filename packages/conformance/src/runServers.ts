/**
 * Where a conformance run finds its broker, database and management API: the options' servers, or
 * throwaway local ones it starts (and stops at the end).
 */
import { splitUrlList } from "@worker-toolbox/config";
import {
  createManagementClient,
  deriveManagementUrl,
  type ManagementClient,
} from "@worker-toolbox/runtime/topology";
import { type LocalServers, startLocalServers } from "@worker-toolbox/testing";
import type { ConformanceOptions, ConformanceServers } from "./types.js";

export interface ResolvedServers {
  servers: ConformanceServers;
  /** Set when the run started its own servers: it stops them on close. */
  local?: LocalServers;
}

export async function resolveServers(given: ConformanceOptions["servers"]): Promise<ResolvedServers> {
  if (given) return { servers: typeof given === "function" ? await given() : given };
  const local = await startLocalServers();
  const managementUrl = local.managementUrl ?? process.env.WT_BROKER_MANAGEMENT_URL;
  return {
    local,
    servers: {
      amqpUrl: local.amqpUrl,
      databaseUrl: local.databaseUrl,
      ...(managementUrl ? { managementUrl } : {}),
    },
  };
}

/**
 * The management API client, or undefined when it does not answer. Without a URL, each broker node's API
 * (AMQP_URL may list a cluster's nodes; the client tries each in turn).
 */
export async function reachableManagement(
  managementUrl: string | undefined,
  nodes: readonly string[],
): Promise<ManagementClient | undefined> {
  const client = createManagementClient({
    url: managementUrl ? splitUrlList(managementUrl) : nodes.map((node) => deriveManagementUrl(node)),
  });
  return client.overview().then(
    () => client,
    () => undefined,
  );
}
