/**
 * Operations as library functions: the doctor's checks, the queue monitor and dead-letter inspection,
 * replay and purge. The CLI commands `doctor`, `monitor` and `dlq` are thin wrappers around these.
 */
export { type Alarm, type AlarmKind, evaluateAlarms, formatAge } from "./alarms.js";
export { type AuditOptions, runAudit } from "./audit.js";
export {
  AUDIT_COUNTERS,
  type AuditReport,
  type AuditTaskLine,
  type AuditTotals,
  buildAuditReport,
  type QueueCount,
  type UnaccountedGroup,
  type UnaccountedKind,
} from "./auditReport.js";
export { clusterChecks } from "./clusterChecks.js";
export { type ConnectionCheck, checkConnections } from "./connectionChecks.js";
export { type DeadLetterInfo, describeDeadLetter } from "./deadLetterInfo.js";
export {
  type DeadLetterListing,
  type DeadLetterQueueRef,
  deadLetterQueueName,
  listDeadLetters,
  purgeDeadLetters,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayResult,
  replayDeadLetters,
} from "./deadLetterQueue.js";
export { type DoctorOptions, runDoctor } from "./doctor.js";
export type { CheckStatus, DoctorCheck, DoctorReport } from "./doctorCheck.js";
export { deadLetteredAtMs, publishedAtMs } from "./messageTime.js";
export { createMonitor, type Monitor, type MonitorOptions, type MonitorTick } from "./monitor.js";
export { replayHeaders, replayRequest } from "./replayMessage.js";
export type { ReplaySelection } from "./replaySelection.js";
export {
  type QueueSample,
  type QueueSnapshot,
  type SampleQueuesOptions,
  sampleQueues,
} from "./sampleQueues.js";
export { discoverServices, type OpsTarget, opsTargets, type Thresholds, thresholdsFor } from "./targets.js";
export { upgradeCheck } from "./upgradeChecks.js";
export { type AlarmWebhookBody, postAlarmWebhook } from "./webhook.js";
