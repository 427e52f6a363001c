import type { ToolboxConfig } from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import type { Logger } from "pino";
import {
  configVhost,
  createManagementClient,
  type ManagementClient,
  managementUrls,
} from "../management/client.js";
import { type Alarm, evaluateAlarms } from "./alarms.js";
import { auditAlarms, auditUnavailableAlarm } from "./auditAlarms.js";
import type { AuditReport } from "./auditReport.js";
import { type QueueSnapshot, sampleQueues } from "./sampleQueues.js";
import { opsTargets } from "./targets.js";
import { postAlarmWebhook } from "./webhook.js";

/**
 * `worker-toolbox monitor`: sample the queues at an interval, log each sample, and raise alarms when a
 * threshold from `monitor.thresholds` / `monitor.services` is crossed.
 *
 * Every active alarm is logged at error level on every sample (so log-based alerting can count lines);
 * the webhook is only called when the set of alarms changes (raised or resolved), so it does not page
 * every 30 seconds. A sample that fails (broker gone) is itself an alarm, `broker-unavailable`.
 */
export interface MonitorOptions {
  config: ToolboxConfig;
  services: readonly string[];
  logger: Logger;
  /** A connection for passive declares and peeks; the monitor never closes it. */
  getConnection: () => Promise<ChannelModel>;
  /** Default config.monitor.webhookUrl. */
  webhookUrl?: string | undefined;
  /** Default config.monitor.intervalSeconds. */
  intervalMs?: number;
  /** Test seam: a management client (default derived from the broker URL). `false` forces AMQP only. */
  management?: ManagementClient | false;
  /**
   * The loss audit (`monitor.audit`): run every `intervalMs` (the first tick runs it), its alarms held
   * until the next run. `run` is `runAudit` with the monitor's connection and a database pool.
   */
  audit?: { run: () => Promise<AuditReport>; intervalMs: number };
  /** Called after every tick (the CLI prints a table or a JSON line from it). */
  onTick?: (tick: MonitorTick) => void;
  /**
   * Log each queue sample and active alarm as pino lines (default true). Off when `onTick` renders them
   * instead; warnings (fallbacks, failed webhooks) are logged either way.
   */
  logSamples?: boolean;
}

export interface MonitorTick {
  snapshot: QueueSnapshot | undefined;
  /** The audit this tick ran, if it ran one. */
  audit?: AuditReport;
  alarms: Alarm[];
  raised: Alarm[];
  resolved: Alarm[];
}

export interface Monitor {
  /** Take one sample, log it, evaluate and notify. */
  tick(): Promise<MonitorTick>;
  /** Tick every interval until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

export function createMonitor(options: MonitorOptions): Monitor {
  const { config, logger } = options;
  const webhookUrl = options.webhookUrl ?? config.monitor.webhookUrl;
  const intervalMs = options.intervalMs ?? config.monitor.intervalSeconds * 1_000;
  const logSamples = options.logSamples !== false;
  const sample = queueSampler(options);
  const audit = auditSchedule(options);
  const sources = sourceChangeLog(logger);
  let active = new Map<string, Alarm>();

  async function tick(): Promise<MonitorTick> {
    const sampled = await sample();
    const { snapshot } = sampled;
    const fromAudit = await audit();
    const alarms = [...sampled.alarms, ...fromAudit.alarms];
    if (snapshot) {
      sources(snapshot);
      if (logSamples) logQueueSamples(logger, snapshot);
    }
    const { next, raised, resolved } = compareAlarms(active, alarms);
    if (logSamples) logAlarms(logger, alarms, raised, resolved);
    active = next;
    if (webhookUrl && (raised.length > 0 || resolved.length > 0)) {
      await postAlarmWebhook(
        webhookUrl,
        {
          source: "worker-toolbox",
          environment: config.environment.prefix,
          at: snapshot?.at ?? new Date().toISOString(),
          raised,
          resolved,
          active: alarms,
        },
        logger,
      );
    }
    const result = {
      snapshot,
      alarms,
      raised,
      resolved,
      ...(fromAudit.report ? { audit: fromAudit.report } : {}),
    };
    options.onTick?.(result);
    return result;
  }

  return {
    tick,
    async run(signal) {
      while (!signal.aborted) {
        await tick();
        await waitOrAbort(intervalMs, signal);
      }
    },
  };
}

type Sampled = { snapshot?: QueueSnapshot; alarms: Alarm[] };

/** One sample of every target queue with its threshold alarms; a failed sample is `broker-unavailable`. */
function queueSampler(options: MonitorOptions): () => Promise<Sampled> {
  const { config } = options;
  const targets = opsTargets(config, options.services);
  const client =
    options.management === false
      ? undefined
      : (options.management ?? createManagementClient({ url: managementUrls(config) }));
  const vhost = configVhost(config);
  return async () => {
    try {
      const connection = await options.getConnection();
      const snapshot = await sampleQueues({
        connection,
        targets,
        management: client ? { client, vhost } : { unavailable: "management API turned off" },
        queueType: config.queue.type,
      });
      return { snapshot, alarms: evaluateAlarms(snapshot, targets) };
    } catch (error) {
      return { alarms: [brokerUnavailableAlarm(error)] };
    }
  };
}

function brokerUnavailableAlarm(error: unknown): Alarm {
  return {
    key: "broker-unavailable",
    kind: "broker-unavailable",
    service: "",
    queue: "",
    value: null,
    threshold: null,
    message: `cannot sample the queues: ${(error as Error).message.split("\n")[0]}`,
  };
}

/** Run the audit when it is due; its alarms stand until the next run. */
function auditSchedule(options: MonitorOptions): () => Promise<{ report?: AuditReport; alarms: Alarm[] }> {
  const { config, logger } = options;
  let audited: { at: number; alarms: Alarm[] } | undefined;
  return async () => {
    if (!options.audit) return { alarms: [] };
    if (audited && Date.now() - audited.at < options.audit.intervalMs) return { alarms: audited.alarms };
    let report: AuditReport | undefined;
    let alarms: Alarm[];
    try {
      report = await options.audit.run();
      alarms = auditAlarms(report, config.environment.prefix);
      logger.info(
        { event: "audit", ok: report.ok, since: report.since, totals: report.totals },
        "loss audit",
      );
    } catch (error) {
      alarms = [auditUnavailableAlarm(error)];
    }
    audited = { at: Date.now(), alarms };
    return { ...(report ? { report } : {}), alarms };
  };
}

/** Warn once each time sampling falls back from the management API to AMQP. */
function sourceChangeLog(logger: Logger): (snapshot: QueueSnapshot) => void {
  let lastSource: QueueSnapshot["source"] | undefined;
  return (snapshot) => {
    if (snapshot.source === lastSource) return;
    if (snapshot.source === "amqp") {
      logger.warn(
        { reason: snapshot.fallbackReason },
        "management API unavailable: sampling over AMQP (ready depth and consumers only, no rates)",
      );
    }
    lastSource = snapshot.source;
  };
}

/** Which alarms are new and which went away since the last tick. */
function compareAlarms(
  active: ReadonlyMap<string, Alarm>,
  alarms: readonly Alarm[],
): { next: Map<string, Alarm>; raised: Alarm[]; resolved: Alarm[] } {
  const next = new Map(alarms.map((alarm) => [alarm.key, alarm]));
  const raised = alarms.filter((alarm) => !active.has(alarm.key));
  const resolved = [...active.values()].filter((alarm) => !next.has(alarm.key));
  return { next, raised, resolved };
}

function logQueueSamples(logger: Logger, snapshot: QueueSnapshot): void {
  for (const queue of snapshot.queues) {
    logger.info(
      {
        event: "queue.sample",
        service: queue.service,
        queue: queue.queue,
        role: queue.role,
        exists: queue.exists,
        depth: queue.depth,
        consumers: queue.consumers,
        ...(queue.rates ? { rates: queue.rates } : {}),
        ...(queue.oldestAgeMs !== undefined ? { oldestAgeMs: queue.oldestAgeMs } : {}),
        source: snapshot.source,
      },
      "queue sample",
    );
  }
}

/** Every active alarm at error level (log-based alerting counts lines), and each resolved one. */
function logAlarms(
  logger: Logger,
  alarms: readonly Alarm[],
  raised: readonly Alarm[],
  resolved: readonly Alarm[],
) {
  for (const alarm of alarms) {
    logger.error(
      {
        event: "alarm",
        alarm: alarm.kind,
        service: alarm.service,
        queue: alarm.queue,
        value: alarm.value,
        threshold: alarm.threshold,
        new: raised.includes(alarm),
      },
      alarm.message,
    );
  }
  for (const alarm of resolved) {
    logger.info(
      { event: "alarm.resolved", alarm: alarm.kind, queue: alarm.queue },
      `resolved: ${alarm.message}`,
    );
  }
}

/** Resolve after `ms`, or at once when `signal` aborts. */
function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
