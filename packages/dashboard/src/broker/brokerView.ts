import { entityNames, PLATFORM_DEAD_LETTER_KEY, type ToolboxConfig } from "@worker-toolbox/config";
import {
  type Alarm,
  type DeadLetterInfo,
  discoverServices,
  evaluateAlarms,
  listDeadLetters,
  opsTargets,
  sampleQueues,
} from "@worker-toolbox/runtime/ops";
import {
  configVhost,
  createManagementClient,
  type ManagementClient,
  managementUrls,
  type QueueRates,
} from "@worker-toolbox/runtime/topology";
import type { ChannelModel } from "amqplib";

/** One service's queues as the Overview shows them. */
export interface ServiceQueues {
  service: string;
  queue: string;
  ready: number | undefined;
  unacked: number | undefined;
  consumers: number | undefined;
  rates: QueueRates | undefined;
  deadLetters: number | undefined;
}

export interface BrokerSnapshot {
  at: Date;
  services: ServiceQueues[];
  alarms: Alarm[];
  /** Why the broker could not be read (the pages still show the database's history). */
  error: string | undefined;
}

export interface DeadLetterSummary {
  service: string;
  queue: string;
  total: number;
  /** Counts per reason among the inspected letters (the first `inspected` of `total`). */
  byReason: { reason: string; count: number }[];
  inspected: number;
}

export interface BrokerView {
  /** Queue depths, consumers, rates and the monitor's alarms; cached for `maxAgeMs`. */
  snapshot(maxAgeMs?: number): Promise<BrokerSnapshot>;
  /** A service's dead letters (head first, all returned to the queue). */
  deadLetters(service: string, limit?: number): Promise<{ total: number; letters: DeadLetterInfo[] }>;
  /** Dead letters by reason per service; re-inspected only when a queue's count changed. */
  deadLetterSummaries(): Promise<DeadLetterSummary[]>;
  services(): Promise<string[]>;
}

const INSPECT_LIMIT = 500;

/**
 * The broker side of the dashboard: the management API (depths, consumers, rates) through the same
 * `sampleQueues` + `evaluateAlarms` the monitor runs, and dead letters through the `dlq` functions.
 */
export function createBrokerView(
  config: ToolboxConfig,
  connection: () => Promise<ChannelModel>,
  options: { services?: readonly string[] } = {},
): BrokerView {
  const prefix = config.environment.prefix;
  const names = entityNames(prefix);
  const management: ManagementClient = createManagementClient({ url: managementUrls(config) });
  const vhost = configVhost(config);
  let cached: BrokerSnapshot | undefined;
  let pending: Promise<BrokerSnapshot> | undefined;
  const inspected = new Map<string, { total: number; summary: DeadLetterSummary }>();

  async function services(): Promise<string[]> {
    if (options.services && options.services.length > 0) return [...options.services];
    if (config.service) return [config.service];
    return discoverServices(management, vhost, prefix);
  }

  return {
    services,
    async snapshot(maxAgeMs = 2_000) {
      if (cached && Date.now() - cached.at.getTime() <= maxAgeMs) return cached;
      pending ??= takeSnapshot(config, connection, { client: management, vhost }, services).finally(() => {
        pending = undefined;
      });
      cached = await pending;
      return cached;
    },
    async deadLetters(service, limit = 200) {
      const listing = await listDeadLetters(await connection(), { prefix, service }, { limit });
      return { total: listing.total, letters: listing.messages };
    },
    async deadLetterSummaries() {
      const snapshot = await this.snapshot();
      const out: DeadLetterSummary[] = [];
      for (const service of snapshot.services) {
        const total = service.deadLetters ?? 0;
        const queue =
          service.service === PLATFORM_DEAD_LETTER_KEY
            ? names.platformDeadLetterQueue
            : names.serviceDeadLetterQueue(service.service);
        const held = inspected.get(service.service);
        if (total === 0) {
          out.push({ service: service.service, queue, total: 0, byReason: [], inspected: 0 });
          continue;
        }
        if (held && held.total === total) {
          out.push(held.summary);
          continue;
        }
        const listing = await this.deadLetters(service.service, INSPECT_LIMIT).catch(() => undefined);
        if (!listing) continue;
        const summary: DeadLetterSummary = {
          service: service.service,
          queue,
          total: listing.total,
          inspected: listing.letters.length,
          byReason: countByReason(listing.letters),
        };
        inspected.set(service.service, { total, summary });
        out.push(summary);
      }
      return out;
    },
  };
}

/** One sample of every service's queues, with the monitor's alarms; a failed sample carries its error. */
async function takeSnapshot(
  config: ToolboxConfig,
  connection: () => Promise<ChannelModel>,
  management: { client: ManagementClient; vhost: string },
  services: () => Promise<string[]>,
): Promise<BrokerSnapshot> {
  try {
    const targets = opsTargets(config, await services());
    const [snapshot, queues] = await Promise.all([
      sampleQueues({ connection: await connection(), targets, management, queueType: config.queue.type }),
      management.client.listQueues(management.vhost),
    ]);
    const byName = new Map(queues.map((queue) => [queue.name, queue]));
    // Exact counts (a passive declare, as doctor and monitor take them): the management API's sample
    // lags by seconds, so a dead letter that just arrived would change nothing the live feed compares.
    const exact = new Map(snapshot.queues.map((sample) => [sample.queue, sample]));
    return {
      at: new Date(),
      alarms: evaluateAlarms(snapshot, targets),
      error: undefined,
      services: targets.map((target) => {
        const queue = byName.get(target.queue);
        return {
          service: target.service,
          queue: target.queue,
          ready: queue?.messagesReady,
          unacked: queue?.messagesUnacknowledged,
          consumers: exact.get(target.queue)?.consumers ?? queue?.consumers,
          rates: queue?.rates,
          deadLetters:
            exact.get(target.deadLetterQueue)?.depth ?? byName.get(target.deadLetterQueue)?.messages,
        };
      }),
    };
  } catch (error) {
    return { at: new Date(), services: [], alarms: [], error: (error as Error).message };
  }
}

function countByReason(letters: readonly { reason: string }[]): DeadLetterSummary["byReason"] {
  const counts = new Map<string, number>();
  for (const letter of letters) counts.set(letter.reason, (counts.get(letter.reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
}
