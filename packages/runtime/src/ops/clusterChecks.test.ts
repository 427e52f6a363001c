import { describe, expect, it } from "vitest";
import type { QueueInfo } from "../management/client.js";
import type { ClusterState } from "../management/clusterState.js";
import { clusterChecks } from "./clusterChecks.js";
import { upgradeCheck } from "./upgradeChecks.js";

const nodes = ["rabbit@a", "rabbit@b", "rabbit@c"];

function queue(name: string, over: Partial<QueueInfo> = {}): QueueInfo {
  return {
    name,
    vhost: "/",
    type: "quorum",
    durable: true,
    exclusive: false,
    arguments: { "x-queue-type": "quorum", "x-delivery-limit": 10 },
    policyKeys: [],
    messages: 0,
    messagesReady: 0,
    messagesUnacknowledged: 0,
    consumers: 1,
    headMessageTimestamp: undefined,
    rates: { publish: undefined, deliver: undefined, ack: undefined },
    node: nodes[0],
    members: nodes,
    online: nodes,
    ...over,
  };
}

function state(over: Partial<ClusterState> = {}): ClusterState {
  return {
    rabbitmqVersion: "3.13.7",
    erlangVersion: "26.2.5",
    nodes: nodes.map((name) => ({
      name,
      running: true,
      partitions: [],
      memoryAlarm: false,
      diskAlarm: false,
    })),
    queues: [queue("p.export", { node: nodes[0] }), queue("p.platform", { node: nodes[1] })],
    transientQueues: [],
    toolboxTransientQueues: [],
    globalQos: [],
    disabledFeatureFlags: [],
    ...over,
  };
}

const byId = (checks: ReturnType<typeof clusterChecks>) => Object.fromEntries(checks.map((c) => [c.id, c]));

describe("clusterChecks", () => {
  it("a healthy 3-node cluster passes every check", () => {
    const checks = clusterChecks(state());
    expect(checks.every((check) => check.status === "ok")).toBe(true);
    expect(byId(checks)["cluster:nodes"]?.detail).toBe("3 nodes running");
    expect(byId(checks)["quorum-members"]?.detail).toBe("2 quorum queue(s), every member online");
  });

  it("fails on a node down, a partition and an alarm, naming the node", () => {
    const s = state();
    s.nodes[2]!.running = false;
    s.nodes[0]!.partitions = ["rabbit@b"];
    s.nodes[1]!.memoryAlarm = true;
    const checks = byId(clusterChecks(s));
    expect(checks["cluster:nodes"]).toMatchObject({
      status: "fail",
      detail: "2 of 3 nodes running; down: rabbit@c",
    });
    expect(checks["cluster:partitions"]).toMatchObject({ status: "fail" });
    expect(checks["cluster:partitions"]?.detail).toContain("rabbit@a cannot see rabbit@b");
    expect(checks["alarms:rabbit@b"]).toMatchObject({
      status: "fail",
      detail: "memory alarm: publishers on every node are blocked",
    });
  });

  it("warns on a quorum queue with a member down, fails below a majority, and when members fall short of replicas", () => {
    const checks = byId(
      clusterChecks(
        state({
          queues: [
            queue("p.export", { online: nodes.slice(0, 2) }),
            queue("p.platform", { online: nodes.slice(0, 1) }),
            queue("p.billing", { members: nodes.slice(0, 1), online: nodes.slice(0, 1), node: nodes[1] }),
          ],
        }),
        { replicas: 3 },
      ),
    );
    expect(checks["quorum:p.export"]).toMatchObject({ status: "warn" });
    expect(checks["quorum:p.export"]?.detail).toBe(
      "2 of 3 members online (down: rabbit@c); losing 1 more makes it unavailable",
    );
    expect(checks["quorum:p.platform"]).toMatchObject({ status: "fail" });
    expect(checks["quorum:p.platform"]?.detail).toContain("fewer than a majority: the queue is unavailable");
    expect(checks["quorum:p.billing"]?.detail).toBe(
      "1 member(s), the plan asks for 3 (created while the cluster was smaller?)",
    );
  });

  it("warns when every quorum queue leader is on one node", () => {
    const checks = byId(clusterChecks(state({ queues: [queue("p.a"), queue("p.b"), queue("p.c")] })));
    expect(checks["quorum-leaders"]).toMatchObject({ status: "warn" });
    expect(checks["quorum-leaders"]?.detail).toContain("all 3 quorum queue leaders are on rabbit@a");
  });

  it("a single node is not a cluster: nothing to balance, nothing down", () => {
    const single = state({
      nodes: [{ name: "rabbit@a", running: true, partitions: [], memoryAlarm: false, diskAlarm: false }],
      queues: [
        queue("p.a", { members: ["rabbit@a"], online: ["rabbit@a"] }),
        queue("p.b", { members: ["rabbit@a"], online: ["rabbit@a"] }),
      ],
    });
    const checks = clusterChecks(single);
    expect(checks.every((check) => check.status === "ok")).toBe(true);
    expect(byId(checks)["cluster:nodes"]?.detail).toBe("1 node (not clustered)");
  });
});

describe("upgradeCheck (RabbitMQ 4.x)", () => {
  it("passes when nothing 4.x changes is in use", () => {
    expect(upgradeCheck(state())).toMatchObject({ id: "upgrade:rabbitmq-4", status: "ok" });
  });

  it("lists each thing to settle; a warning, or a failure when strict", () => {
    const s = state({
      rabbitmqVersion: "3.10.8",
      erlangVersion: "25.2.3",
      disabledFeatureFlags: ["stream_queue"],
      globalQos: [{ connection: "10.0.0.5:4711 -> 10.0.0.1:5672", prefetch: 16 }],
      transientQueues: ["celery@host.celery.pidbox", "celeryev.1234"],
      queues: [
        queue("p.old", { arguments: { "x-queue-type": "quorum" } }),
        queue("p.mirrored", {
          type: "classic",
          members: undefined,
          online: undefined,
          policyKeys: ["ha-mode"],
        }),
        queue("p.lazy", { type: "classic", arguments: { "x-queue-mode": "lazy" } }),
      ],
    });
    const check = upgradeCheck(s);
    expect(check.status).toBe("warn");
    expect(check.items).toEqual([
      "RabbitMQ 3.10.8: in-place upgrades reach 4.0 only from 3.13.x; upgrade minor by minor to 3.13 first",
      "feature flags not enabled: stream_queue (an upgrade needs every stable flag: rabbitmqctl enable_feature_flag all)",
      "Erlang 25.2.3: RabbitMQ 4.0 needs Erlang 26 or later",
      "quorum queue p.old has no delivery limit: 4.x gives it 20, so a message redelivered 20 times is dead-lettered or dropped",
      "queue p.mirrored is mirrored by a policy (ha-*): 4.0 removed mirroring, it would keep one replica",
      "queue p.lazy is declared with x-queue-mode, which RabbitMQ 4.3 refuses",
      expect.stringContaining(
        "2 queue(s) neither durable nor exclusive (celery@host.celery.pidbox, celeryev.1234",
      ),
      expect.stringContaining(
        "1 channel(s) use global QoS (basic.qos global=true), from 10.0.0.5:4711 -> 10.0.0.1:5672",
      ),
    ]);
    expect(upgradeCheck(s, { strict: true }).status).toBe("fail");
  });

  it("tells an older toolbox worker's non-exclusive pidbox queue from Celery's own", () => {
    const old = "export-12@host.p.celery.pidbox";
    const check = upgradeCheck(
      state({ transientQueues: ["celery@host.p.celery.pidbox", old], toolboxTransientQueues: [old] }),
    );
    expect(check.items).toEqual([
      expect.stringMatching(
        /^1 worker-toolbox worker\(s\) consume a pidbox queue that is neither durable nor exclusive \(export-12@host\.p\.celery\.pidbox\): they run an older toolbox.*upgrade them/,
      ),
      expect.stringMatching(
        /^1 queue\(s\) neither durable nor exclusive \(celery@host\.p\.celery\.pidbox; e\.g\. Celery's.*permit\.transient_nonexcl_queues = true$/,
      ),
    ]);
  });

  it("a delivery limit set by policy counts", () => {
    const s = state({
      queues: [queue("p.old", { arguments: { "x-queue-type": "quorum" }, policyKeys: ["delivery-limit"] })],
    });
    expect(upgradeCheck(s).status).toBe("ok");
  });
});
