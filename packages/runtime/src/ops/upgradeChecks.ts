import type { ClusterState } from "../management/clusterState.js";
import type { DoctorCheck } from "./doctorCheck.js";

/**
 * Is this broker ready for RabbitMQ 4.x? One check listing what 4.x changes or removes that this
 * environment uses, so an upgrade is planned rather than discovered. Sources: RabbitMQ's 4.0 and 4.3
 * release notes and its list of deprecated features.
 *
 * - in-place upgrades reach 4.0 from 3.13.x only, with every stable feature flag enabled;
 * - 4.0 removes classic queue mirroring (ha-* policies stop replicating);
 * - 4.0 gives quorum queues without a delivery limit a limit of 20;
 * - 4.3 refuses global QoS (`basic.qos global=true`), transient non-exclusive queues and the
 *   `x-queue-master-locator` / `x-queue-mode` / `x-queue-version=1` arguments;
 * - 4.0 needs Erlang 26.
 *
 * A warning by default; with `strict` (doctor --upgrade) a failure, for an upgrade gate.
 */
export function upgradeCheck(state: ClusterState, options: { strict?: boolean } = {}): DoctorCheck {
  const findings = [...versionFindings(state), ...queueFindings(state), ...clientFindings(state)];
  if (findings.length === 0) {
    return {
      id: "upgrade:rabbitmq-4",
      status: "ok",
      detail: `nothing found that RabbitMQ 4.x changes or removes (now ${state.rabbitmqVersion || "unknown"})`,
    };
  }
  return {
    id: "upgrade:rabbitmq-4",
    status: options.strict ? "fail" : "warn",
    detail: `${findings.length} thing(s) to settle before RabbitMQ 4.x (now ${state.rabbitmqVersion || "unknown"}); see the items`,
    items: findings,
    hint: "docs/operations.md, RabbitMQ 4.x notes",
  };
}

function versionFindings(state: ClusterState): string[] {
  const findings: string[] = [];
  const [major, minor] = numbers(state.rabbitmqVersion);
  if (major !== undefined && (major < 3 || (major === 3 && (minor ?? 0) < 13)))
    findings.push(
      `RabbitMQ ${state.rabbitmqVersion}: in-place upgrades reach 4.0 only from 3.13.x; upgrade minor by minor to 3.13 first`,
    );
  if (state.disabledFeatureFlags.length > 0)
    findings.push(
      `feature flags not enabled: ${state.disabledFeatureFlags.join(", ")} (an upgrade needs every stable flag: rabbitmqctl enable_feature_flag all)`,
    );
  const [erlang] = numbers(state.erlangVersion);
  if (erlang !== undefined && erlang < 26)
    findings.push(`Erlang ${state.erlangVersion}: RabbitMQ 4.0 needs Erlang 26 or later`);
  return findings;
}

function queueFindings(state: ClusterState): string[] {
  const findings: string[] = [];
  for (const queue of state.queues) {
    if (
      queue.type === "quorum" &&
      !("x-delivery-limit" in queue.arguments) &&
      !queue.policyKeys.includes("delivery-limit")
    )
      findings.push(
        `quorum queue ${queue.name} has no delivery limit: 4.x gives it 20, so a message redelivered 20 times is dead-lettered or dropped`,
      );
    if (queue.policyKeys.some((key) => key.startsWith("ha-")))
      findings.push(
        `queue ${queue.name} is mirrored by a policy (ha-*): 4.0 removed mirroring, it would keep one replica`,
      );
    for (const argument of ["x-queue-master-locator", "x-queue-mode"])
      if (argument in queue.arguments)
        findings.push(`queue ${queue.name} is declared with ${argument}, which RabbitMQ 4.3 refuses`);
    if (queue.arguments["x-queue-version"] === 1)
      findings.push(`queue ${queue.name} uses x-queue-version=1 (CQv1), removed in RabbitMQ 4.3`);
  }
  findings.push(...transientFindings(state));
  return findings;
}

/**
 * Transient non-exclusive queues, which 4.3 refuses to declare. A worker-toolbox worker declares its pidbox
 * queue exclusive; one consumed by a toolbox worker is from an older toolbox, whose worker would fail to
 * connect on 4.3. The rest are Celery's (its workers' pidbox queues, `celeryev.*` event receivers), which
 * Celery declares that way: 4.3 needs the deprecated feature permitted for them.
 */
function transientFindings(state: ClusterState): string[] {
  const list = (names: string[]) => `${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}`;
  const toolbox = state.toolboxTransientQueues;
  const others = state.transientQueues.filter((name) => !toolbox.includes(name));
  const findings: string[] = [];
  if (toolbox.length > 0)
    findings.push(
      `${toolbox.length} worker-toolbox worker(s) consume a pidbox queue that is neither durable nor exclusive (${list(toolbox)}): they run an older toolbox, and RabbitMQ 4.3 would refuse that declare so they could not connect; upgrade them (worker-toolbox upgrade), which declares it exclusive`,
    );
  if (others.length > 0)
    findings.push(
      `${others.length} queue(s) neither durable nor exclusive (${list(others)}; e.g. Celery's pidbox and event queues, as Celery declares them): RabbitMQ 4.3 refuses to declare them unless deprecated_features.permit.transient_nonexcl_queues = true`,
    );
  return findings;
}

function clientFindings(state: ClusterState): string[] {
  if (state.globalQos.length === 0) return [];
  const connections = [...new Set(state.globalQos.map((channel) => channel.connection))];
  return [
    `${state.globalQos.length} channel(s) use global QoS (basic.qos global=true), from ${connections.slice(0, 3).join(", ")}${connections.length > 3 ? ", …" : ""}: RabbitMQ 4.3 refuses it (quorum queues never honoured it); use per-consumer prefetch`,
  ];
}

function numbers(version: string): [number | undefined, number | undefined] {
  const [a, b] = version.split(".").map((part) => Number.parseInt(part, 10));
  return [Number.isNaN(a) ? undefined : a, b === undefined || Number.isNaN(b) ? undefined : b];
}
