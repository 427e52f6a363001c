import type { ClusterState } from "../management/clusterState.js";
import type { DoctorCheck } from "./doctorCheck.js";

/**
 * The doctor's cluster checks, pure over what the management API reported (clusterState.ts): nodes up or
 * down, partitions, resource alarms per node, quorum queues with fewer online members than their group
 * size (or than `queue.replicas` asks for), and quorum queue leaders all on one node.
 */
export function clusterChecks(state: ClusterState, options: { replicas?: number } = {}): DoctorCheck[] {
  return [
    nodesCheck(state),
    partitionsCheck(state),
    ...alarmChecks(state),
    ...quorumMemberChecks(state, options.replicas),
    leadersCheck(state),
  ];
}

function nodesCheck(state: ClusterState): DoctorCheck {
  const down = state.nodes.filter((node) => !node.running).map((node) => node.name);
  const count = state.nodes.length;
  if (down.length === 0) {
    return {
      id: "cluster:nodes",
      status: "ok",
      detail: count > 1 ? `${count} nodes running` : "1 node (not clustered)",
    };
  }
  return {
    id: "cluster:nodes",
    status: "fail",
    detail: `${count - down.length} of ${count} nodes running; down: ${down.join(", ")}`,
    hint: "start the node (it rejoins with its data); `rabbitmq-diagnostics -n <node> check_running` says why it is not",
  };
}

function partitionsCheck(state: ClusterState): DoctorCheck {
  const split = state.nodes.filter((node) => node.partitions.length > 0);
  if (split.length === 0) return { id: "cluster:partitions", status: "ok", detail: "no network partition" };
  return {
    id: "cluster:partitions",
    status: "fail",
    detail: `network partition: ${split.map((node) => `${node.name} cannot see ${node.partitions.join(", ")}`).join("; ")}`,
    hint: "restore the network, then restart the nodes of the minority side (see RabbitMQ's partitions guide and cluster_partition_handling)",
  };
}

function alarmChecks(state: ClusterState): DoctorCheck[] {
  const alarmed = state.nodes.filter((node) => node.memoryAlarm || node.diskAlarm);
  if (alarmed.length === 0)
    return [
      { id: "alarms", status: "ok", detail: `no memory or disk alarm on ${state.nodes.length} node(s)` },
    ];
  return alarmed.map((node) => ({
    id: `alarms:${node.name}`,
    status: "fail" as const,
    detail: `${[node.memoryAlarm ? "memory" : "", node.diskAlarm ? "disk" : ""].filter(Boolean).join(" and ")} alarm: publishers on every node are blocked`,
    hint: "free memory or disk on that node (or raise vm_memory_high_watermark / disk_free_limit); consumers keep draining meanwhile",
  }));
}

function quorumMemberChecks(state: ClusterState, replicas: number | undefined): DoctorCheck[] {
  const quorum = state.queues.filter((queue) => queue.type === "quorum" && queue.members !== undefined);
  const checks: DoctorCheck[] = [];
  for (const queue of quorum) {
    const members = queue.members ?? [];
    const online = queue.online ?? [];
    const offline = members.filter((member) => !online.includes(member));
    const majority = Math.floor(members.length / 2) + 1;
    if (online.length < majority) {
      checks.push({
        id: `quorum:${queue.name}`,
        status: "fail",
        detail: `${online.length} of ${members.length} members online, fewer than a majority: the queue is unavailable (down: ${offline.join(", ")})`,
        hint: "bring the members' nodes back; a quorum queue cannot elect a leader without a majority",
      });
    } else if (offline.length > 0) {
      checks.push({
        id: `quorum:${queue.name}`,
        status: "warn",
        detail: `${online.length} of ${members.length} members online (down: ${offline.join(", ")}); losing ${online.length - majority + 1} more makes it unavailable`,
        hint: "bring the node back, or replace the member: rabbitmq-queues delete_member / add_member",
      });
    } else if (replicas !== undefined && members.length < replicas) {
      checks.push({
        id: `quorum:${queue.name}`,
        status: "warn",
        detail: `${members.length} member(s), the plan asks for ${replicas} (created while the cluster was smaller?)`,
        hint: "rabbitmq-queues grow <node> all adds a member on a node",
      });
    }
  }
  if (checks.length === 0 && quorum.length > 0) {
    checks.push({
      id: "quorum-members",
      status: "ok",
      detail: `${quorum.length} quorum queue(s), every member online`,
    });
  }
  return checks;
}

function leadersCheck(state: ClusterState): DoctorCheck {
  const running = state.nodes.filter((node) => node.running).length;
  const leaders = state.queues
    .filter((queue) => queue.type === "quorum" && queue.node)
    .map((queue) => queue.node!);
  const distinct = new Set(leaders);
  if (running < 2 || leaders.length < 2 || distinct.size > 1) {
    return {
      id: "quorum-leaders",
      status: "ok",
      detail:
        running < 2 || leaders.length < 2
          ? "nothing to balance"
          : `${leaders.length} leaders on ${distinct.size} of ${running} running nodes`,
    };
  }
  return {
    id: "quorum-leaders",
    status: "warn",
    detail: `all ${leaders.length} quorum queue leaders are on ${[...distinct][0]}: that node does all the queue work, the others only replicate`,
    hint: "rabbitmq-queues rebalance quorum spreads them over the nodes",
  };
}
