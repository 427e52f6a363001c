import { entityNames } from "@worker-toolbox/config";
import type { Alarm } from "./alarms.js";
import type { AuditReport } from "./auditReport.js";

/**
 * The monitor's alarms from a loss audit: one `unaccounted-tasks` alarm per service with lost, overdue or
 * untracked tasks (value = how many), naming the worst group and the command that lists them all.
 */
export function auditAlarms(report: AuditReport, prefix: string): Alarm[] {
  const byService = new Map<string, AuditReport["unaccounted"]>();
  for (const group of report.unaccounted) {
    const service = group.service ?? "(unnamed)";
    byService.set(service, [...(byService.get(service) ?? []), group]);
  }
  const names = entityNames(prefix);
  return [...byService].map(([service, groups]) => {
    const count = groups.reduce((n, group) => n + group.count, 0);
    const kinds = (["lost", "overdue", "untracked"] as const)
      .map((kind) => [kind, groups.filter((g) => g.kind === kind).reduce((n, g) => n + g.count, 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${n} ${kind}`);
    const first = groups[0]!;
    return {
      key: `unaccounted-tasks:${service}`,
      kind: "unaccounted-tasks",
      service,
      queue: names.serviceQueue(service),
      value: count,
      threshold: 0,
      message:
        `${service}: ${count} task(s) unaccounted since ${report.since} (${kinds.join(", ")}); ` +
        `e.g. ${first.task ?? "?"} ${first.oldestIds.slice(0, 3).join(" ")} — run worker-toolbox audit`,
    };
  });
}

/** The audit could not run (database unreachable, not migrated): an alarm of its own, not silence. */
export function auditUnavailableAlarm(error: unknown): Alarm {
  return {
    key: "audit-unavailable",
    kind: "audit-unavailable",
    service: "",
    queue: "",
    value: null,
    threshold: null,
    message: `the loss audit could not run: ${(error as Error).message.split("\n")[0]}`,
  };
}
