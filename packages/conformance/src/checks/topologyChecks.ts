import { entityNames, type TopologyPlan } from "@worker-toolbox/config";
import { bindingName, describeMismatch, type TopologyMismatch } from "@worker-toolbox/runtime/topology";

/**
 * The topology plan cut into the concerns a service owner recognises, one case each, so a failure points
 * at one part ("the platform queue is not bound") instead of a list of twenty entity names.
 */
export interface TopologyGroup {
  title: string;
  /** Exchange and queue names and binding names (see `bindingName`) this case owns. */
  entities: Set<string>;
}

export function topologyGroups(plan: TopologyPlan, service: string): TopologyGroup[] {
  const names = entityNames(plan.prefix);
  const serviceQueue = names.serviceQueue(service);
  const deadQueue = names.serviceDeadLetterQueue(service);
  const watchQueue = names.serviceDeadLetterWatchQueue(service);
  const groups: { title: string; owns: (name: string, kind: "exchange" | "queue" | "binding") => boolean }[] =
    [
      {
        title: "declares the task exchange <prefix>.tasks as a durable topic exchange",
        owns: (name, kind) => kind === "exchange" && name === names.exchange,
      },
      {
        title: `declares the service queue <prefix>.${service} with the planned type and arguments, bound with ${service}.#`,
        owns: (name, kind) =>
          (kind === "queue" && name === serviceQueue) ||
          (kind === "binding" && name.startsWith(`${names.exchange} -> ${serviceQueue} [`)),
      },
      {
        title: "declares the platform queue <prefix>.platform bound with # (a copy of every task)",
        owns: (name, kind) =>
          (kind === "queue" && (name === names.platformQueue || name === names.platformDeadLetterQueue)) ||
          (kind === "binding" &&
            (name.includes(` -> ${names.platformQueue} [`) ||
              name.includes(` -> ${names.platformDeadLetterQueue} [`))),
      },
      {
        title: `declares the dead-letter exchange <prefix>.dead and the queues <prefix>.${service}.dead and .dead.watch`,
        owns: (name, kind) =>
          (kind === "exchange" && name === names.deadLetterExchange) ||
          (kind === "queue" && (name === deadQueue || name === watchQueue)) ||
          (kind === "binding" &&
            (name.includes(` -> ${deadQueue} [`) || name.includes(` -> ${watchQueue} [`))),
      },
      {
        title: "declares the events exchange <prefix>.celeryev as a durable topic exchange (Celery events)",
        owns: (name, kind) => kind === "exchange" && name === names.eventExchange,
      },
      {
        title: "declares the delay exchange <prefix>.delay and one delay queue per rung",
        owns: (name, kind) =>
          (kind === "exchange" && name === names.delayExchange) ||
          (kind === "queue" && name.startsWith(`${names.delayExchange}.`)) ||
          (kind === "binding" && name.startsWith(`${names.delayExchange} -> `)),
      },
      {
        title:
          "declares Celery's control exchange <prefix>.celery.pidbox (fanout) that revocations go through",
        owns: (name, kind) => kind === "exchange" && name === names.controlExchange,
      },
    ];
  const entities: { name: string; kind: "exchange" | "queue" | "binding" }[] = [
    ...plan.exchanges.map((item) => ({ name: item.name, kind: "exchange" as const })),
    ...plan.queues.map((item) => ({ name: item.name, kind: "queue" as const })),
    ...plan.bindings.map((item) => ({ name: bindingName(item), kind: "binding" as const })),
  ];
  return groups.map((group) => ({
    title: group.title,
    entities: new Set(entities.filter((item) => group.owns(item.name, item.kind)).map((item) => item.name)),
  }));
}

/** The mismatches one group owns, as lines naming entity, argument and fix. */
export function groupProblems(group: TopologyGroup, mismatches: readonly TopologyMismatch[]): string[] {
  return mismatches.filter((mismatch) => group.entities.has(mismatch.name)).map(describeMismatch);
}

/** True when every mismatch of the group is a missing entity (nothing declared it, nothing drifted). */
export function onlyMissing(group: TopologyGroup, mismatches: readonly TopologyMismatch[]): boolean {
  return mismatches
    .filter((mismatch) => group.entities.has(mismatch.name))
    .every((mismatch) => mismatch.problem === "missing");
}
