/** The run config: the service's config with the run's namespace, servers and worker role put in. */
import { configSchema, loadConfig, parseConfig, type ToolboxConfig } from "@worker-toolbox/config";
import type { ConformanceOptions } from "./types.js";

/** An extra delay rung added to the run config so retries come back in a tenth of a second. */
export const FAST_RUNG_MS = 100;

/** The service's config as it would load in this test process (no production requirements). */
export function baseConfig(options: ConformanceOptions, service: string): ToolboxConfig {
  if (options.config) return options.config;
  try {
    // The run replaces the broker and database URLs with its servers', so none has to be set.
    return loadConfig({ overrides: { service }, localDefaults: true });
  } catch {
    // The production case reports config problems; the run only needs a valid shape.
    return parseConfig({ mode: "test", service });
  }
}

export interface RunPlace {
  service: string;
  prefix: string;
  amqpUrl: string;
  managementUrl: string | undefined;
  /** The worker role's database URL. */
  databaseUrl: string;
}

export function runConfig(base: ToolboxConfig, place: RunPlace): ToolboxConfig {
  const rungs = [...new Set([FAST_RUNG_MS, ...base.queue.delayRungsMs])].sort((a, b) => a - b);
  const { healthPort, ...worker } = base.worker;
  return configSchema.parse({
    ...base,
    service: place.service,
    // Quiet unless the developer asks for logs (WT_LOG_LEVEL); failure cases log errors on purpose.
    logLevel: process.env.WT_LOG_LEVEL ? base.logLevel : "silent",
    environment: { ...base.environment, prefix: place.prefix },
    broker: { ...base.broker, url: place.amqpUrl, managementUrl: place.managementUrl },
    database: { ...base.database, url: place.databaseUrl },
    queue: { ...base.queue, delayRungsMs: rungs },
    worker: { ...worker, ...(healthPort === undefined ? {} : { healthPort: 0 }) },
  });
}

export function withDatabaseUrl(config: ToolboxConfig, url: string): ToolboxConfig {
  return { ...config, database: { ...config.database, url } };
}
