import type { QueueSnapshot } from "./sampleQueues.js";
import type { OpsTarget } from "./targets.js";

/**
 * Thresholds crossed in one snapshot. Pure: `monitor` and `doctor` both evaluate snapshots with it, and
 * `key` identifies an alarm across samples so the monitor can tell raised from still-active from resolved.
 */
export type AlarmKind =
  | "queue-missing"
  | "depth"
  | "oldest-message-age"
  | "consumers"
  | "dead-letters"
  | "broker-unavailable"
  | "unaccounted-tasks"
  | "audit-unavailable";

export interface Alarm {
  /** `<kind>:<queue>`: stable across samples. */
  key: string;
  kind: AlarmKind;
  service: string;
  queue: string;
  value: number | null;
  threshold: number | null;
  message: string;
}

export function evaluateAlarms(snapshot: QueueSnapshot, targets: readonly OpsTarget[]): Alarm[] {
  const alarms: Alarm[] = [];
  const add = (alarm: Omit<Alarm, "key">) => alarms.push({ key: `${alarm.kind}:${alarm.queue}`, ...alarm });
  for (const target of targets) {
    const { thresholds: t, service } = target;
    const tasks = snapshot.queues.find((sample) => sample.queue === target.queue);
    const dead = snapshot.queues.find((sample) => sample.queue === target.deadLetterQueue);
    for (const sample of [tasks, dead]) {
      if (sample && !sample.exists) {
        add({
          kind: "queue-missing",
          service,
          queue: sample.queue,
          value: null,
          threshold: null,
          message: `${sample.queue} does not exist (run worker-toolbox topology apply)`,
        });
      }
    }
    if (tasks?.exists) {
      if (tasks.depth !== undefined && tasks.depth > t.maxDepth) {
        add({
          kind: "depth",
          service,
          queue: tasks.queue,
          value: tasks.depth,
          threshold: t.maxDepth,
          message: `${tasks.queue} holds ${tasks.depth} messages (more than ${t.maxDepth})`,
        });
      }
      if (t.minConsumers > 0 && tasks.consumers !== undefined && tasks.consumers < t.minConsumers) {
        add({
          kind: "consumers",
          service,
          queue: tasks.queue,
          value: tasks.consumers,
          threshold: t.minConsumers,
          message: `${tasks.queue} has ${tasks.consumers} consumer(s) (fewer than ${t.minConsumers}): nothing runs its tasks`,
        });
      }
      if (tasks.oldestAgeMs !== undefined && tasks.oldestAgeMs > t.maxOldestMessageAgeMs) {
        add({
          kind: "oldest-message-age",
          service,
          queue: tasks.queue,
          value: tasks.oldestAgeMs,
          threshold: t.maxOldestMessageAgeMs,
          message: `the oldest message in ${tasks.queue} waits for ${formatAge(tasks.oldestAgeMs)} (more than ${formatAge(t.maxOldestMessageAgeMs)})`,
        });
      }
    }
    if (dead?.exists && t.alertOnDeadLetters && (dead.depth ?? 0) > 0) {
      add({
        kind: "dead-letters",
        service,
        queue: dead.queue,
        value: dead.depth ?? null,
        threshold: 0,
        message: `${dead.queue} holds ${dead.depth} dead letter(s) (worker-toolbox dlq list ${service})`,
      });
    }
  }
  return alarms;
}

/** `90000` → `1m30s`, `500` → `500ms`. */
export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  let seconds = Math.round(ms / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
  ] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join("");
}
