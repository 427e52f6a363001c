import { entityNames, PLATFORM_DEAD_LETTER_KEY, type ToolboxConfig } from "@worker-toolbox/config";
import type { ManagementClient } from "../management/client.js";

/**
 * What `doctor` and `monitor` look at: each service's task queue with its dead-letter queue and the
 * thresholds that apply to it, plus the platform (tracker) queue pair.
 */
export type Thresholds = ToolboxConfig["monitor"]["thresholds"];

export interface OpsTarget {
  /** A service name, or `platform` for the tracker's queue. */
  service: string;
  queue: string;
  deadLetterQueue: string;
  thresholds: Thresholds;
}

/** `monitor.thresholds` with the service's overrides from `monitor.services` on top. */
export function thresholdsFor(config: ToolboxConfig, service: string): Thresholds {
  const defaults = config.monitor.thresholds;
  const override = config.monitor.services[service] ?? {};
  return {
    maxDepth: override.maxDepth ?? defaults.maxDepth,
    maxOldestMessageAgeMs: override.maxOldestMessageAgeMs ?? defaults.maxOldestMessageAgeMs,
    minConsumers: override.minConsumers ?? defaults.minConsumers,
    alertOnDeadLetters: override.alertOnDeadLetters ?? defaults.alertOnDeadLetters,
  };
}

/** One target per service (sorted, deduplicated), then the platform queue. */
export function opsTargets(config: ToolboxConfig, services: readonly string[]): OpsTarget[] {
  const names = entityNames(config.environment.prefix);
  const targets = [...new Set(services)].sort().map((service) => ({
    service,
    queue: names.serviceQueue(service),
    deadLetterQueue: names.serviceDeadLetterQueue(service),
    thresholds: thresholdsFor(config, service),
  }));
  targets.push({
    service: PLATFORM_DEAD_LETTER_KEY,
    queue: names.platformQueue,
    deadLetterQueue: names.platformDeadLetterQueue,
    thresholds: thresholdsFor(config, PLATFORM_DEAD_LETTER_KEY),
  });
  return targets;
}

/**
 * The services that exist on the broker for this prefix: every `<prefix>.<service>` queue that has a
 * `<prefix>.<service>.dead` sibling. Used when neither --service nor config.service names any.
 */
export async function discoverServices(
  client: ManagementClient,
  vhost: string,
  prefix: string,
): Promise<string[]> {
  const names = new Set((await client.listQueues(vhost)).map((queue) => queue.name));
  const services: string[] = [];
  for (const name of names) {
    if (!name.startsWith(`${prefix}.`) || name.endsWith(".dead")) continue;
    const service = name.slice(prefix.length + 1);
    if (service.includes(".") || service === PLATFORM_DEAD_LETTER_KEY) continue;
    if (names.has(`${name}.dead`)) services.push(service);
  }
  return services.sort();
}
