import { z } from "zod";
import { SERVICE_NAME_PATTERN } from "../names.js";
import { doc, positiveInt } from "./doc.js";
import { httpUrl } from "./urls.js";

/** Alarm thresholds of one service queue (and its dead-letter queue), for `doctor` and `monitor`. */
export const monitorThresholdsSchema = z.strictObject({
  maxDepth: doc(
    z.number().int().min(0).default(10_000),
    "Alarm when a service queue holds more messages than this (ready and unacknowledged).",
    10000,
  ),
  maxOldestMessageAgeMs: doc(
    z.number().int().min(0).default(600_000),
    "Alarm when the oldest waiting message is older than this. Measurable only when messages carry a " +
      "timestamp (see docs/operations.md); otherwise the check is reported as skipped.",
    600000,
  ),
  minConsumers: doc(
    z.number().int().min(0).default(1),
    "Alarm when a service queue has fewer consumers than this (0 turns the check off).",
    1,
  ),
  alertOnDeadLetters: doc(
    z.boolean().default(true),
    "Alarm when the service's dead-letter queue is not empty.",
    true,
  ),
});

/** The loss audit the monitor can run: `worker-toolbox audit` at an interval, alarming on unaccounted tasks. */
const monitorAuditSchema = z.strictObject({
  enabled: doc(
    z.boolean().default(false),
    "Run the loss audit (`worker-toolbox audit`) from `worker-toolbox monitor` and raise an `unaccounted-tasks` " +
      "alarm per service with lost, overdue or untracked tasks. Reads the result database (database.url).",
    true,
  ),
  windowMs: doc(
    positiveInt().default(86_400_000),
    "The audit's window: tasks scheduled this long ago or later.",
    86400000,
  ),
  graceMs: doc(
    z.number().int().min(0).default(3_600_000),
    "How long past its due time (scheduled, eta, retry) a task may take before the audit counts it as overdue. " +
      "Longer than the longest queue wait plus run time you accept.",
    3600000,
  ),
  intervalSeconds: doc(
    positiveInt().max(86_400).default(300),
    "How often the monitor runs the audit (it reads the tracking and result tables and the dead-letter queues).",
    300,
  ),
});

/** A per-service override: the same fields without defaults, so what is left out keeps `monitor.thresholds`. */
const monitorOverrideSchema = z.strictObject({
  maxDepth: doc(z.number().int().min(0).optional(), "Overrides `monitor.thresholds.maxDepth`.", 50000),
  maxOldestMessageAgeMs: doc(
    z.number().int().min(0).optional(),
    "Overrides `monitor.thresholds.maxOldestMessageAgeMs`.",
    3600000,
  ),
  minConsumers: doc(z.number().int().min(0).optional(), "Overrides `monitor.thresholds.minConsumers`.", 2),
  alertOnDeadLetters: doc(
    z.boolean().optional(),
    "Overrides `monitor.thresholds.alertOnDeadLetters`.",
    false,
  ),
});

/** `monitor.*`: what `worker-toolbox monitor` samples, when it alarms and where it says so. */
export const monitorSchema = z.strictObject({
  intervalSeconds: doc(
    positiveInt().max(86_400).default(30),
    "How often `worker-toolbox monitor` samples the queues.",
    30,
  ),
  webhookUrl: doc(
    httpUrl.optional(),
    "Where `worker-toolbox monitor` POSTs a JSON body when an alarm is raised or resolved. Off when unset.",
    "https://hooks.example.com/worker-toolbox",
  ),
  thresholds: monitorThresholdsSchema.prefault({}),
  services: doc(
    z
      .record(
        z.string().regex(SERVICE_NAME_PATTERN, "must be a service name (lower kebab-case)"),
        monitorOverrideSchema,
      )
      .default({}),
    "Per-service overrides of `monitor.thresholds`, keyed by service name; fields left out keep the default. " +
      "In the environment, one JSON object.",
    { export: { maxDepth: 50000, maxOldestMessageAgeMs: 3600000 } },
  ),
  audit: monitorAuditSchema.prefault({}),
});
