import { formatAge, type MonitorTick } from "@worker-toolbox/runtime/ops";
import { table } from "../output.js";

/** One monitor sample as a person reads it: a table of queues, then the alarms, then the audit's verdict. */
export function renderTick(prefix: string, tick: MonitorTick): string {
  const lines: string[] = [];
  const snapshot = tick.snapshot;
  const at = snapshot?.at ?? new Date().toISOString();
  lines.push(
    `worker-toolbox monitor — environment "${prefix}", ${at}` +
      (snapshot
        ? ` (${snapshot.source === "amqp" ? "AMQP: ready messages only, no rates" : "management API; ready and consumers exact"})`
        : ""),
    "",
  );
  if (snapshot) {
    const rate = (value: number | undefined) => (value === undefined ? "-" : value.toFixed(1));
    lines.push(
      table(
        ["queue", "depth", "consumers", "in/s", "out/s", "ack/s", "oldest"],
        snapshot.queues.map((queue) => [
          queue.queue,
          queue.exists ? String(queue.depth ?? "-") : "missing",
          queue.exists ? String(queue.consumers ?? "-") : "",
          rate(queue.rates?.publish),
          rate(queue.rates?.deliver),
          rate(queue.rates?.ack),
          queue.oldestAgeMs === undefined ? "-" : formatAge(queue.oldestAgeMs),
        ]),
      ),
    );
  }
  lines.push("");
  if (tick.alarms.length === 0) lines.push("No alarms.");
  else {
    lines.push(`Alarms (${tick.alarms.length}):`);
    for (const alarm of tick.alarms) {
      const fresh = tick.raised.some((raised) => raised.key === alarm.key) ? " (new)" : "";
      lines.push(`  ${alarm.kind}${fresh}: ${alarm.message}`);
    }
  }
  for (const alarm of tick.resolved) lines.push(`  resolved: ${alarm.message}`);
  if (tick.audit) {
    const { totals } = tick.audit;
    lines.push(
      "",
      `Loss audit since ${tick.audit.since}: ${totals.scheduled} scheduled, ${totals.succeeded} succeeded, ` +
        `${totals.failed} failed, ${totals.lost} lost, ${totals.overdue} overdue, ${totals.untracked} untracked.`,
    );
  }
  return lines.join("\n");
}
