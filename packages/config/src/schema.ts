import { z } from "zod";
import { brokerSchema } from "./schema/broker.js";
import { dashboardSchema } from "./schema/dashboard.js";
import { databaseSchema } from "./schema/database.js";
import { environmentSchema } from "./schema/environment.js";
import { limitsSchema } from "./schema/limits.js";
import { logFormatSchema, logLevelSchema } from "./schema/logging.js";
import { modeSchema } from "./schema/mode.js";
import { monitorSchema } from "./schema/monitor.js";
import { producerSchema } from "./schema/producer.js";
import { queueSchema } from "./schema/queue.js";
import { retryPolicySchema } from "./schema/retry.js";
import { serviceSchema } from "./schema/service.js";
import { trackerSchema } from "./schema/tracker.js";
import { workerSchema } from "./schema/worker.js";
import { plaintextRefusals } from "./transport.js";

export { monitorThresholdsSchema } from "./schema/monitor.js";
export { retryPolicySchema };

/**
 * The one source of configuration truth. Types come from `z.infer`, defaults from `.default()`,
 * docs/config.md and docs/config.schema.json are generated from the descriptions and examples in
 * `schema/` (one file per section, composed here in the order the docs list them), and environment
 * variable names are derived from the paths (see `envVarName`).
 *
 * Three fields have no default on purpose: `environment.prefix`, `broker.url` and `database.url`.
 * Outside production mode `loadConfig` fills them from the development preset (the URLs only when a mode
 * was named); in production a missing one is a hard error — for `database.url` and `service`, only in the
 * roles that use them (roles.ts).
 */

// Groups holding required fields use `.prefault({} as never)`: an absent group is parsed as `{}`, so the
// error names each missing field (`broker.url`) instead of the whole group.

export const configSchema = z
  .strictObject({
    mode: modeSchema,
    service: serviceSchema,
    environment: environmentSchema.prefault({} as never),
    broker: brokerSchema.prefault({} as never),
    database: databaseSchema.prefault({} as never),
    queue: queueSchema.prefault({}),
    worker: workerSchema.prefault({}),
    retry: retryPolicySchema.prefault({}),
    producer: producerSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    tracker: trackerSchema.prefault({}),
    dashboard: dashboardSchema.prefault({}),
    logLevel: logLevelSchema,
    logFormat: logFormatSchema,
    monitor: monitorSchema.prefault({}),
  })
  // Production sends credentials and task data over TLS once it leaves the machine (transport.ts).
  .superRefine((config, context) => {
    if (config.mode !== "production") return;
    for (const { path, message } of plaintextRefusals(config))
      context.addIssue({ code: "custom", path: path.split("."), message });
  });

export type ToolboxConfig = z.infer<typeof configSchema>;
export type ToolboxConfigInput = z.input<typeof configSchema>;
export type QueueType = ToolboxConfig["queue"]["type"];
export type RetryPolicy = z.infer<typeof retryPolicySchema>;
