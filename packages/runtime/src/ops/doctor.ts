import {
  brokerUrls,
  isToolboxError,
  maskUrl,
  planTopology,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import { classifyBrokerError } from "../broker/classifyError.js";
import { connectAnyNode } from "../broker/nodes.js";
import { brokerVersion } from "../broker/throwawayChannel.js";
import {
  configVhost,
  createManagementClient,
  type ManagementClient,
  managementUrls,
} from "../management/client.js";
import { readClusterState } from "../management/clusterState.js";
import { migrationStatus } from "../results/migrate.js";
import { createDatabasePool } from "../results/pool.js";
import { describeMismatch, PRUNE_COMMAND, type TopologyMismatch } from "../topology/mismatch.js";
import { verifyTopology } from "../topology/verifyTopology.js";
import { type Alarm, evaluateAlarms, formatAge } from "./alarms.js";
import { clusterChecks } from "./clusterChecks.js";
import { type CheckStatus, type DoctorCheck, type DoctorReport, firstLine } from "./doctorCheck.js";
import { checkRoleGrants, type GrantCheckOptions, ledgerHint } from "./doctorGrants.js";
import { checkRetention } from "./doctorRetention.js";
import { checkTls } from "./doctorTls.js";
import { sampledNote } from "./exactCounts.js";
import { type QueueSnapshot, sampleQueues } from "./sampleQueues.js";
import { discoverServices, type OpsTarget, opsTargets } from "./targets.js";
import { upgradeCheck } from "./upgradeChecks.js";

export type { CheckStatus, DoctorCheck, DoctorReport };

/**
 * `worker-toolbox doctor`: every check an operator would otherwise run by hand, in the order a failure
 * explains the next one (no broker → no topology check). Read-only: nothing is declared, migrated or
 * consumed; a peek for a message's age returns the message at once.
 */
export interface DoctorOptions {
  config: ToolboxConfig;
  /** Services to check; default config.service, else every service found on the broker. */
  services?: readonly string[];
  /** Socket options for the AMQP connection; default `brokerSocketOptions(config)` (TLS files, timeout). */
  socketOptions?: Record<string, unknown>;
  /** Check the result database (default true). */
  database?: boolean;
  /** Fail (rather than warn) when the broker is not ready for RabbitMQ 4.x (`doctor --upgrade`). */
  upgrade?: boolean;
  /** Roles whose grants to check (doctorGrants.ts); by default the doctor's own role or the `db grants` ones. */
  roles?: GrantCheckOptions;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const { config } = options;
  const prefix = config.environment.prefix;
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck) => checks.push(check);
  add({ id: "config", status: "ok", detail: `valid (mode ${config.mode}, environment "${prefix}")` });
  add(checkTls(config, { database: options.database !== false }));

  let connection: ChannelModel | undefined;
  try {
    const connected = await connectAnyNode(config, {
      name: "worker-toolbox doctor",
      ...(options.socketOptions ? { socketOptions: options.socketOptions } : {}),
    });
    connection = connected.connection;
    add({
      id: "broker",
      status: "ok",
      detail: `RabbitMQ ${brokerVersion(connection) || "(version unknown)"} at ${maskUrl(connected.url)}`,
    });
  } catch (error) {
    const classified = classifyBrokerError(error, brokerUrls(config)[0] ?? "");
    add({
      id: "broker",
      status: "fail",
      detail: `${classified.code}: ${firstLine(classified)}`,
      ...hintOf(classified),
    });
  }

  const management = await openManagement(config);
  add(
    "client" in management
      ? { id: "management-api", status: "ok", detail: `reachable at ${management.client.displayUrl}` }
      : {
          id: "management-api",
          status: "warn",
          detail: `${management.unavailable}; bindings, rates and queue ages cannot be checked`,
          hint: "enable the rabbitmq_management plugin, or set RABBITMQ_MANAGEMENT_URL",
        },
  );

  for (const check of await checkCluster(config, management, options.upgrade === true)) add(check);
  if (options.database !== false) {
    const database = await checkDatabase(config);
    add(database);
    for (const check of await checkRoleGrants(config, options.roles ?? {})) add(check);
    if (database.status !== "fail") add(await checkRetention(config));
  }

  let services = [...(options.services ?? (config.service ? [config.service] : []))];
  if (services.length === 0 && "client" in management) {
    services = await discoverServices(management.client, management.vhost, prefix).catch(() => []);
  }
  if (services.length === 0) {
    add({
      id: "services",
      status: "warn",
      detail: "no service named and none found on the broker; only the platform queue is checked",
      hint: "pass --service <name> (repeatable) or set WT_SERVICE",
    });
  }

  try {
    if (!connection) {
      for (const id of ["topology", "queues"]) add({ id, status: "skip", detail: "broker not reachable" });
      return report(prefix, services, checks);
    }
    add(await checkTopology(config, services, connection, management));
    const targets = opsTargets(config, services);
    const snapshot = await sampleQueues({
      connection,
      targets,
      management,
      queueType: config.queue.type,
    });
    for (const check of queueChecks(snapshot, targets, evaluateAlarms(snapshot, targets))) add(check);
    return report(prefix, services, checks);
  } finally {
    await connection?.close().catch(() => {});
  }
}

function report(prefix: string, services: string[], checks: DoctorCheck[]): DoctorReport {
  return { ok: !checks.some((check) => check.status === "fail"), prefix, services, checks };
}

async function openManagement(
  config: ToolboxConfig,
): Promise<{ client: ManagementClient; vhost: string } | { unavailable: string }> {
  const client = createManagementClient({ url: managementUrls(config) });
  try {
    await client.overview();
    return { client, vhost: configVhost(config) };
  } catch (error) {
    return { unavailable: firstLine(error) };
  }
}

/** Nodes, partitions, alarms, quorum queue members and leaders, and RabbitMQ 4.x readiness. */
async function checkCluster(
  config: ToolboxConfig,
  management: { client: ManagementClient; vhost: string } | { unavailable: string },
  strictUpgrade: boolean,
): Promise<DoctorCheck[]> {
  if (!("client" in management))
    return [
      {
        id: "cluster",
        status: "skip",
        detail: "the management API is needed for node and queue replica checks",
      },
    ];
  try {
    const state = await readClusterState(management.client, management.vhost, config.environment.prefix);
    return [
      ...clusterChecks(state, config.queue.replicas === undefined ? {} : { replicas: config.queue.replicas }),
      upgradeCheck(state, { strict: strictUpgrade }),
    ];
  } catch (error) {
    return [
      { id: "cluster", status: "warn", detail: `cannot read the cluster's state: ${firstLine(error)}` },
    ];
  }
}

async function checkDatabase(config: ToolboxConfig): Promise<DoctorCheck> {
  const pool = createDatabasePool(config, { max: 1 });
  try {
    const status = await migrationStatus(pool, { schema: config.database.schema });
    if (!status.upToDate) {
      const pending = status.pending.map((m) => `${m.version} ${m.name}`).join(", ");
      return {
        id: "database",
        status: "fail",
        detail: `schema "${status.schema}" is at version ${status.current}, this toolbox needs ${status.latest} (pending: ${pending})`,
        hint: "run `worker-toolbox db migrate` as a role that may create tables",
      };
    }
    if (status.unknown.length > 0 || status.modified.length > 0) {
      return {
        id: "database",
        status: "warn",
        detail:
          `schema "${status.schema}" is at version ${status.current}` +
          (status.unknown.length > 0
            ? `; versions ${status.unknown.join(", ")} come from a newer toolbox`
            : "") +
          (status.modified.length > 0
            ? `; versions ${status.modified.join(", ")} differ from the shipped SQL`
            : ""),
        hint: "upgrade the toolbox to the version that migrated this database",
      };
    }
    return {
      id: "database",
      status: "ok",
      detail: `schema "${status.schema}" migrated to version ${status.current}`,
    };
  } catch (error) {
    const code = isToolboxError(error) ? `${error.code}: ` : "";
    // The role (run with a worker's DATABASE_URL) may not read the ledger: say which grant fixes it.
    const denied =
      isToolboxError(error, "DATABASE_PERMISSION_DENIED") || (error as { code?: string }).code === "42501";
    const hint = denied
      ? { hint: ledgerHint(config, roleOf(config.database.url) || "your role") }
      : hintOf(error);
    return { id: "database", status: "fail", detail: `${code}${firstLine(error)}`, ...hint };
  } finally {
    await pool.end().catch(() => {});
  }
}

async function checkTopology(
  config: ToolboxConfig,
  services: readonly string[],
  connection: ChannelModel,
  management: { client: ManagementClient; vhost: string } | { unavailable: string },
): Promise<DoctorCheck> {
  const plan = planTopology(config, services);
  const result = await verifyTopology({
    plan,
    connection,
    ...("client" in management ? { managementClient: management.client } : { managementUrl: false as const }),
    vhost: "client" in management ? management.vhost : configVhost(config),
  });
  const counts = `${plan.exchanges.length} exchanges, ${plan.queues.length} queues, ${plan.bindings.length} bindings`;
  if (!result.ok) {
    return {
      id: "topology",
      status: "fail",
      detail: summariseMismatches(result.mismatches),
      items: result.mismatches.map(describeMismatch),
      hint:
        "missing entities: `worker-toolbox topology apply`; entities not in the plan: " +
        `\`${PRUNE_COMMAND}\`; different arguments need a migration (docs/topology.md)`,
    };
  }
  if (result.bindingsChecked === "skipped") {
    return {
      id: "topology",
      status: "warn",
      detail: `${counts} present; bindings NOT checked (${result.skippedReason})`,
    };
  }
  return { id: "topology", status: "ok", detail: `${counts} match the plan` };
}

/** Short enough for a table cell: the first few differences, then a count (topology verify lists all). */
function summariseMismatches(mismatches: readonly TopologyMismatch[]): string {
  const shown = mismatches
    .slice(0, 4)
    .map((m) =>
      m.problem === "missing" || m.problem === "extra"
        ? `${m.entity} ${m.name} ${m.problem === "extra" ? "not in the plan" : "missing"}`
        : `${m.entity} ${m.name}: ${m.argument ?? "arguments"} expected ${String(m.expected ?? "none")}, broker has ${String(m.actual ?? "none")}`,
    );
  const more = mismatches.length - shown.length;
  return `${mismatches.length} difference(s): ${shown.join("; ")}${more > 0 ? `; and ${more} more (worker-toolbox topology verify)` : ""}`;
}

/** consumers, depth, oldest message and dead letters of each target, as checks. */
function queueChecks(snapshot: QueueSnapshot, targets: readonly OpsTarget[], alarms: Alarm[]): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const alarmFor = (kind: Alarm["kind"], queue: string) =>
    alarms.find((a) => a.kind === kind && a.queue === queue);
  const via = snapshot.source === "amqp" ? " (AMQP: ready messages only)" : "";
  for (const target of targets) {
    const tasks = snapshot.queues.find((sample) => sample.queue === target.queue);
    const dead = snapshot.queues.find((sample) => sample.queue === target.deadLetterQueue);
    const t = target.thresholds;
    if (!tasks?.exists) {
      checks.push({ id: `queue:${target.queue}`, status: "skip", detail: "queue missing (see topology)" });
    } else {
      const consumers = alarmFor("consumers", tasks.queue);
      checks.push({
        id: `consumers:${tasks.queue}`,
        status: consumers ? "fail" : t.minConsumers === 0 ? "skip" : "ok",
        detail:
          (consumers?.message ?? `${tasks.consumers} consumer(s) (minimum ${t.minConsumers})`) +
          sampledNote(tasks, "consumers"),
        ...(consumers ? { hint: consumerHint(target.service) } : {}),
      });
      const depth = alarmFor("depth", tasks.queue);
      checks.push({
        id: `depth:${tasks.queue}`,
        status: depth ? "fail" : "ok",
        detail:
          (depth?.message ?? `${tasks.depth} message(s) (maximum ${t.maxDepth})`) +
          via +
          sampledNote(tasks, "depth"),
        ...(depth
          ? { hint: "add workers (worker.concurrency or more processes) or find what slows them" }
          : {}),
      });
      const age = alarmFor("oldest-message-age", tasks.queue);
      checks.push({
        id: `age:${tasks.queue}`,
        status: age ? "fail" : tasks.oldestAgeMs === undefined ? "skip" : "ok",
        detail:
          age?.message ??
          (tasks.oldestAgeMs === undefined
            ? `oldest message age unknown: ${tasks.ageNote}`
            : `oldest message ${formatAge(tasks.oldestAgeMs)} old via ${tasks.ageSource} (maximum ${formatAge(t.maxOldestMessageAgeMs)})`),
      });
    }
    if (dead?.exists) {
      const letters = alarmFor("dead-letters", dead.queue);
      checks.push({
        id: `dead-letters:${dead.queue}`,
        status: letters ? "fail" : (dead.depth ?? 0) > 0 ? "warn" : "ok",
        detail: (letters?.message ?? `${dead.depth ?? 0} dead letter(s)`) + sampledNote(dead, "depth"),
        ...(letters || (dead.depth ?? 0) > 0
          ? { hint: `inspect with \`worker-toolbox dlq list ${target.service}\`, then replay or purge` }
          : {}),
      });
    }
  }
  return checks;
}

function consumerHint(service: string): string {
  return service === "platform"
    ? "start the tracker (`worker-toolbox track`), or set monitor.services.platform.minConsumers to 0"
    : `start a worker of service ${service}`;
}

function hintOf(error: unknown): { hint?: string } {
  return isToolboxError(error) && error.hint ? { hint: error.hint } : {};
}

/** The user name of a database URL ("" when there is none). */
function roleOf(url: string | undefined): string {
  try {
    return url ? decodeURIComponent(new URL(url).username) : "";
  } catch {
    return "";
  }
}
