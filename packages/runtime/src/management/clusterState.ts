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
  /**
   * Those of `transientQueues` a worker-toolbox worker consumes (its connection is named `worker:…`): the
   * pidbox queue of a worker built on an older toolbox, which declared it non-exclusive.
   */
  toolboxTransientQueues: string[];
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

interface RawConsumer {
  queue?: { name?: string };
  channel_details?: { connection_name?: string };
}

interface RawConnection {
  name?: string;
  user_provided_name?: string;
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
  const [overview, nodes, queues, channels, flags, consumers, connections] = await Promise.all([
    client.overview(),
    client.getJson<RawNode[]>("api/nodes"),
    client.listQueues(vhost),
    client.getJson<RawChannel[]>(`api/channels/${v}?columns=global_prefetch_count,connection_details`),
    // Older brokers answer 404 for feature flags; that is "unknown", not "none disabled".
    client.getJson<RawFeatureFlag[]>("api/feature-flags").catch(() => undefined),
    client.getJson<RawConsumer[]>(`api/consumers/${v}?columns=queue.name,channel_details.connection_name`),
    client.getJson<RawConnection[]>("api/connections?columns=name,user_provided_name"),
  ]);
  const ours = (name: string) => name.startsWith(`${prefix}.`);
  const transient = queues.filter((queue) => !queue.durable && !queue.exclusive).map((queue) => queue.name);
  const toolboxConnections = new Set(
    (connections ?? []).filter((c) => c.user_provided_name?.startsWith("worker:")).map((c) => c.name),
  );
  const toolboxConsumed = new Set(
    (consumers ?? [])
      .filter((c) => toolboxConnections.has(c.channel_details?.connection_name))
      .map((c) => c.queue?.name),
  );
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
    transientQueues: transient,
    toolboxTransientQueues: transient.filter((name) => toolboxConsumed.has(name)),
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
