import type { AuditGroup, AuditRows } from "../results/lossAccounting.js";

/**
 * `worker-toolbox audit`'s verdict, built from the database's reconciliation (results/lossAccounting.ts)
 * and a look at the broker's queues. Pure, so every classification rule is unit-tested.
 *
 * An overdue task (no final result past its deadline) is **lost** when nothing of its service waits
 * anywhere a message could still be: its queue is empty (ready and unacknowledged), the delay queues are
 * empty, and it is not in a dead-letter queue. While messages still wait, it is **overdue**: it may be
 * among them (a backlog past the deadline, a stopped worker). Both are unaccounted, and so are final
 * results without a tracking row (**untracked**: published around the task exchange, or the tracker lost
 * its copy).
 */
export interface QueueCount {
  /** Service name; `platform` for the tracker's queues, `delay` for the delay rungs. */
  service: string;
  queue: string;
  role: "tasks" | "dead-letters" | "delay";
  exists: boolean;
  /** Ready messages, exact (a passive declare). */
  ready: number;
  /** Delivered, not yet acknowledged; only known through the management API. */
  unacknowledged: number | undefined;
  consumers: number;
}

export type UnaccountedKind = "lost" | "overdue" | "untracked";

export interface UnaccountedGroup {
  kind: UnaccountedKind;
  service: string | null;
  task: string | null;
  count: number;
  /** Scheduled (lost, overdue) or finished (untracked) at. */
  oldestAt: string;
  oldestIds: string[];
  /** How many had which stored status (`none`: no result row). */
  states: Record<string, number>;
  explanation: string;
}

export interface AuditTaskLine {
  task: string;
  service: string;
  scheduled: number;
  succeeded: number;
  failed: number;
  revoked: number;
  deadLettered: number;
  noResultExpected: number;
  inFlight: number;
  overdue: number;
  lost: number;
}

export interface AuditTotals extends Omit<AuditTaskLine, "task" | "service"> {
  untracked: number;
}

export interface AuditReport {
  /** True when every task in the window is accounted for. */
  ok: boolean;
  at: string;
  since: string;
  graceMs: number;
  totals: AuditTotals;
  tasks: AuditTaskLine[];
  unaccounted: UnaccountedGroup[];
  queues: QueueCount[];
  /** What limited the audit (broker not checked, a dead-letter queue too big to read). */
  notes: string[];
}

export interface BuildAuditInput {
  rows: AuditRows;
  since: Date;
  graceMs: number;
  /** Undefined when the broker could not be checked: every overdue task is then only overdue. */
  queues: QueueCount[] | undefined;
  notes?: string[];
  /** Dead letters found in `<prefix>.platform.dead` (tracking copies the tracker could not store). */
  platformDeadLetterIds?: ReadonlySet<string>;
}

const serviceOf = (task: string | null) => (task ? (task.split(".")[0] ?? task) : null);

export function buildAuditReport(input: BuildAuditInput): AuditReport {
  const lines = new Map<string, AuditTaskLine>();
  const overdue: AuditGroup[] = [];
  for (const group of input.rows.groups) {
    const line = lines.get(group.task) ?? blankLine(group.task);
    lines.set(group.task, line);
    line.scheduled += group.count;
    tally(line, group);
    if (group.category === "overdue") overdue.push(group);
  }
  const unaccounted: UnaccountedGroup[] = [];
  for (const group of overdue) {
    const service = serviceOf(group.task)!;
    const waiting = input.queues ? waitingFor(input.queues, service) : undefined;
    const lost = waiting?.empty === true;
    const line = lines.get(group.task)!;
    if (lost) {
      line.lost = group.count;
      line.overdue = 0;
    }
    unaccounted.push({
      kind: lost ? "lost" : "overdue",
      service,
      task: group.task,
      count: group.count,
      oldestAt: group.oldestAt.toISOString(),
      oldestIds: group.oldestIds,
      states: group.states,
      explanation: lost
        ? `no final result past the deadline, and nothing of ${service} waits in a queue or a delay rung: ` +
          "the messages are gone (purged, deleted with their queue, or dropped)"
        : waiting
          ? `no final result past the deadline; ${waiting.text} still wait, so some may be among them`
          : "no final result past the deadline; the broker was not checked, so they may still be queued",
    });
  }
  for (const group of input.rows.untracked) {
    const dead = group.oldestIds.filter((id) => input.platformDeadLetterIds?.has(id)).length;
    unaccounted.push({
      kind: "untracked",
      service: serviceOf(group.task),
      task: group.task,
      count: group.count,
      oldestAt: group.oldestAt.toISOString(),
      oldestIds: group.oldestIds,
      states: group.states,
      explanation:
        "a final result but no tracking row: published around the task exchange (straight to a queue), " +
        "or the tracker lost its copy" +
        (dead > 0 ? ` (${dead} of the ids shown wait in the platform's dead-letter queue)` : ""),
    });
  }
  const tasks = [...lines.values()].sort((a, b) => a.task.localeCompare(b.task));
  const totals = sumLines(
    tasks,
    input.rows.untracked.reduce((n, group) => n + group.count, 0),
  );
  return {
    ok: unaccounted.length === 0,
    at: input.rows.at.toISOString(),
    since: input.since.toISOString(),
    graceMs: input.graceMs,
    totals,
    tasks,
    unaccounted: unaccounted.sort(
      (a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.task ?? "").localeCompare(b.task ?? ""),
    ),
    queues: input.queues ?? [],
    notes: input.notes ?? [],
  };
}

const KIND_ORDER: Record<UnaccountedKind, number> = { lost: 0, overdue: 1, untracked: 2 };

/** The counters of a task line, in the order the CLI prints them. */
export const AUDIT_COUNTERS = [
  "scheduled",
  "succeeded",
  "failed",
  "revoked",
  "deadLettered",
  "noResultExpected",
  "inFlight",
  "overdue",
  "lost",
] as const satisfies readonly (keyof AuditTaskLine)[];

const zeroCounters = () =>
  Object.fromEntries(AUDIT_COUNTERS.map((key) => [key, 0])) as Record<
    (typeof AUDIT_COUNTERS)[number],
    number
  >;

function blankLine(task: string): AuditTaskLine {
  return { task, service: serviceOf(task)!, ...zeroCounters() };
}

function tally(line: AuditTaskLine, group: AuditGroup): void {
  switch (group.category) {
    case "finished":
      line.succeeded += group.states.SUCCESS ?? 0;
      line.failed += group.states.FAILURE ?? 0;
      line.revoked += group.states.REVOKED ?? 0;
      return;
    case "dead-lettered":
      line.deadLettered += group.count;
      return;
    case "no-result-expected":
      line.noResultExpected += group.count;
      return;
    case "in-flight":
      line.inFlight += group.count;
      return;
    case "overdue":
      line.overdue += group.count;
  }
}

/**
 * Messages that could still be a service's overdue tasks: its queue (ready and unacknowledged) and every
 * delay rung. `empty` only when that is known for certain: without the management API, a queue with
 * consumers may hold unacknowledged messages nobody counted.
 */
function waitingFor(queues: readonly QueueCount[], service: string): { empty: boolean; text: string } {
  const parts: string[] = [];
  let total = 0;
  let unknown = false;
  for (const queue of queues.filter((item) => item.service === service && item.role === "tasks")) {
    const unacked = queue.unacknowledged ?? (queue.consumers > 0 ? undefined : 0);
    if (unacked === undefined) unknown = true;
    total += queue.ready + (unacked ?? 0);
    const held = unacked === undefined ? "an unknown number unacknowledged" : `${unacked} unacknowledged`;
    parts.push(`${queue.ready} ready and ${held} in ${queue.queue}`);
  }
  const delayed = queues.filter((queue) => queue.role === "delay").reduce((n, queue) => n + queue.ready, 0);
  total += delayed;
  parts.push(`${delayed} in the delay rungs`);
  return { empty: total === 0 && !unknown, text: `${parts.join(", ")} (${total} message(s))` };
}

function sumLines(lines: readonly AuditTaskLine[], untracked: number): AuditTotals {
  const totals: AuditTotals = { ...zeroCounters(), untracked };
  for (const line of lines) for (const key of AUDIT_COUNTERS) totals[key] += line[key];
  return totals;
}
