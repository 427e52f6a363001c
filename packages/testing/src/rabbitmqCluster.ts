import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverFailed } from "./failure.js";
import { getFreePort } from "./ports.js";
import { delay, stopGroup, trackDir, untrackDir, untrackGroup } from "./processes.js";
import { findEpmd, type RabbitMQServer, startEpmd, startRabbitMQ } from "./rabbitmq.js";

export interface StartRabbitMQClusterOptions {
  /** How many nodes; default 3 (the smallest cluster that keeps a quorum when one node is down). */
  nodes?: number;
  /** Directory holding `rabbitmq-server` and `rabbitmqctl`; found automatically when omitted. */
  binDir?: string;
  /** How long each node's start may take; default 120 s. */
  startTimeoutMs?: number;
}

/**
 * A throwaway RabbitMQ cluster on loopback: every node a `RabbitMQServer` of its own (distinct node name,
 * ports and data dir; kill, stop, start each one), sharing one Erlang cookie and one epmd. Killed nodes
 * restart with their data and rejoin. For fault tests and for services' own tests of failover.
 */
export interface RabbitMQCluster {
  readonly nodes: readonly RabbitMQServer[];
  /** Every node's AMQP URL, in node order. */
  readonly urls: readonly string[];
  /** The comma-separated list AMQP_URL takes for a cluster. */
  readonly url: string;
  /** Every node's management API URL, in node order. */
  readonly managementUrls: readonly string[];
  /** `rabbitmqctl` against the first running node (cluster-wide commands: cluster_status, list_queues…). */
  rabbitmqctl(args: string[]): Promise<string>;
  /** Resolves once every running node lists every running node as running (after a restart, a rejoin). */
  awaitMembers(timeoutMs?: number): Promise<void>;
  /** Kill every node and the epmd, remove every temp dir. */
  dispose(): Promise<void>;
}

/**
 * Start the nodes: the first forms the cluster, the others join it on their first boot (classic peer
 * discovery, all nodes listed), one after another (joining at once can race in Mnesia on RabbitMQ 3.x).
 */
export async function startRabbitMQCluster(
  options: StartRabbitMQClusterOptions = {},
): Promise<RabbitMQCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1)
    throw new TypeError(`a cluster needs at least one node, not ${count}`);
  const epmdBin = findEpmd();
  if (!epmdBin) throw serverFailed("cannot start a test RabbitMQ cluster: Erlang's `epmd` was not found");
  const id = randomBytes(3).toString("hex");
  const names = Array.from({ length: count }, (_, i) => `wt-${id}-${i + 1}@localhost`);
  const cookie = randomBytes(16).toString("hex").toUpperCase();
  const dir = mkdtempSync(join(tmpdir(), "wt-rabbitmq-cluster-"));
  trackDir(dir);
  const epmdPort = await getFreePort();
  const epmd: ChildProcess = startEpmd(
    epmdBin,
    epmdPort,
    { ...process.env, HOME: dir },
    join(dir, "epmd.out"),
  );
  const nodes: RabbitMQServer[] = [];
  const disposeAll = async () => {
    await Promise.all(nodes.map((node) => node.dispose().catch(() => undefined)));
    if (epmd.pid !== undefined) {
      await stopGroup(epmd, "SIGTERM", 2_000);
      untrackGroup(epmd.pid);
    }
    rmSync(dir, { recursive: true, force: true });
    untrackDir(dir);
  };
  try {
    for (const nodeName of names) {
      nodes.push(
        await startRabbitMQ({
          nodeName,
          ...(options.binDir ? { binDir: options.binDir } : {}),
          startTimeoutMs: options.startTimeoutMs ?? 120_000,
          cluster: { epmdPort, cookie, peers: names },
        }),
      );
    }
  } catch (error) {
    await disposeAll();
    throw error;
  }

  const running = () => nodes.filter((node) => node.running);
  const rabbitmqctl = async (args: string[]) => {
    const node = running()[0];
    if (!node) throw serverFailed("no node of the test cluster is running");
    return node.rabbitmqctl(args);
  };
  const cluster: RabbitMQCluster = {
    nodes,
    urls: nodes.map((node) => node.url),
    url: nodes.map((node) => node.url).join(","),
    managementUrls: nodes.map((node) => node.managementUrl),
    rabbitmqctl,
    async awaitMembers(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      const want = running().map((node) => node.nodeName);
      let last = "";
      for (;;) {
        const views = await Promise.all(
          running().map((node) =>
            node.rabbitmqctl(["cluster_status", "--formatter", "json"]).catch(() => "{}"),
          ),
        );
        const complete = views.every((view) => {
          const members = runningMembers(view);
          return want.every((name) => members.includes(name));
        });
        if (complete) return;
        last = views.join("\n");
        if (Date.now() > deadline)
          throw serverFailed(
            `the test cluster's nodes did not all see each other within ${timeoutMs} ms:\n${last}`,
          );
        await delay(250);
      }
    },
    dispose: disposeAll,
  };
  await cluster.awaitMembers();
  return cluster;
}

function runningMembers(clusterStatusJson: string): string[] {
  try {
    const status = JSON.parse(clusterStatusJson) as { running_nodes?: string[] };
    return status.running_nodes ?? [];
  } catch {
    return [];
  }
}
