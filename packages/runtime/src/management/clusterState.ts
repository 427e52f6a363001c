import type { ManagementClient, QueueInfo } from "./client.js";

/**
 * What the management API says about the cluster as a whole, read once for the doctor's cluster and
 * upgrade checks (ops/clusterChecks.ts, ops/upgradeChecks.ts). Any node's API reports every node.
 */
export interface ClusterState {
  rabbitmqVersion: string;
  erlangVersion: string;
  nodes: NodeState[];
  /** The environment's queues (name starts with the prefix). */
  queues: QueueInfo[];
  /** Every queue of the vhost that is neither durable nor exclusive (Celery's pidbox and event queues…). */
  transientQueues: string[];
  /** Channels with a global prefetch (`basic.qos global=true`), per connection name. */
  globalQos: { connection: string; prefetch: number }[];
  /** Feature flags that are stable but not enabled (4.x needs every 3.13 one enabled first). */
  disabledFeatureFlags: string[];
}

export interface NodeState {
  name: string;
  running: boolean;
  /** Nodes this node cannot see (a network partition), as it reports them. */
  partitions: string[];
  memoryAlarm: boolean;
  diskAlarm: boolean;
}

interface RawNode {
  name: string;
  running?: boolean;
  partitions?: string[];
  mem_alarm?: boolean;
  disk_free_alarm?: boolean;
}

interface RawChannel {
  global_prefetch_count?: number;
  connection_details?: { name?: string };
}

interface RawFeatureFlag {
  name: string;
  state?: string;
  stability?: string;
}

export async function readClusterState(
  client: ManagementClient,
  vhost: string,
  prefix: string,
): Promise<ClusterState> {
  const v = encodeURIComponent(vhost);
  const [overview, nodes, queues, channels, flags] = await Promise.all([
    client.overview(),
    client.getJson<RawNode[]>("api/nodes"),
    client.listQueues(vhost),
    client.getJson<RawChannel[]>(`api/channels/${v}?columns=global_prefetch_count,connection_details`),
    // Older brokers answer 404 for feature flags; that is "unknown", not "none disabled".
    client.getJson<RawFeatureFlag[]>("api/feature-flags").catch(() => undefined),
  ]);
  const ours = (name: string) => name.startsWith(`${prefix}.`);
  return {
    rabbitmqVersion: overview.rabbitmqVersion,
    erlangVersion: overview.erlangVersion,
    nodes: (nodes ?? []).map((node) => ({
      name: node.name,
      running: node.running === true,
      partitions: node.partitions ?? [],
      memoryAlarm: node.mem_alarm === true,
      diskAlarm: node.disk_free_alarm === true,
    })),
    queues: queues.filter((queue) => ours(queue.name)),
    transientQueues: queues.filter((queue) => !queue.durable && !queue.exclusive).map((queue) => queue.name),
    globalQos: (channels ?? [])
      .filter((channel) => (channel.global_prefetch_count ?? 0) > 0)
      .map((channel) => ({
        connection: channel.connection_details?.name ?? "?",
        prefetch: channel.global_prefetch_count ?? 0,
      })),
    disabledFeatureFlags: (flags ?? [])
      .filter((flag) => flag.state !== "enabled" && (flag.stability ?? "stable") === "stable")
      .map((flag) => flag.name),
  };
}
