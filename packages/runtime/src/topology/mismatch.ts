import { envVarName, type PlannedBinding, ToolboxError, type TopologyPlan } from "@worker-toolbox/config";

/** One difference between the topology plan and what the broker has. */
export interface TopologyMismatch {
  entity: "queue" | "exchange" | "binding";
  /** Entity name; for a binding `<exchange> -> <queue> [<key or headers>]` (see `bindingName`). */
  name: string;
  /** `extra`: under the prefix on the broker, in no plan (see extraEntities.ts). */
  problem: "missing" | "different-argument" | "wrong-type" | "extra";
  /** `x-queue-type`, `durable`, `type`… for different-argument / wrong-type. */
  argument?: string;
  /** What the plan says; null = the plan has no such argument. */
  expected?: ArgumentValue;
  /** What the broker has; null = the broker has no such argument. For an extra queue: its messages. */
  actual?: ArgumentValue;
}

export type ArgumentValue = string | number | boolean | null;

/** `staging.tasks -> staging.platform [#]`, or `[x-match=all, wt-delay=5s]` for headers bindings. */
export function bindingName(binding: PlannedBinding): string {
  const headers = Object.entries(binding.arguments).map(([key, value]) => `${key}=${value}`);
  const key = headers.length > 0 ? headers.join(", ") : binding.routingKey || '""';
  return `${binding.exchange} -> ${binding.queue} [${key}]`;
}

// RabbitMQ 3.x: "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/':
// received 'classic' but current is 'quorum'". A side reads `'v'`, `the value 'v' of type 't'` or `none`.
const INEQUIVALENT =
  /inequivalent arg '([^']+)' for (queue|exchange) '(.*?)' in vhost '[^']*': received (none|the value '[^']*' of type '[^']*'|'[^']*') but current is (none|the value '[^']*' of type '[^']*'|'[^']*')/;

/**
 * Parse the reply text of a 406 PRECONDITION_FAILED from re-declaring an entity. `planned` supplies the
 * expected value in its real type (the broker prints every value as text).
 */
export function parseInequivalentArg(
  message: string,
  planned?: Record<string, unknown>,
): TopologyMismatch | undefined {
  const match = INEQUIVALENT.exec(message);
  if (!match) return undefined;
  const [, argument, entity, name, received, current] = match as unknown as [
    string,
    string,
    "queue" | "exchange",
    string,
    string,
    string,
  ];
  const plannedValue = planned && Object.hasOwn(planned, argument) ? planned[argument] : undefined;
  const expected = plannedValue !== undefined ? (plannedValue as ArgumentValue) : sideValue(received);
  const actual = sideValue(current, typeof expected);
  return {
    entity,
    name,
    problem: entity === "exchange" && argument === "type" ? "wrong-type" : "different-argument",
    argument,
    expected,
    actual,
  };
}

function sideValue(text: string, like?: string): ArgumentValue {
  if (text === "none") return null;
  const value = /^(?:the value )?'([^']*)'/.exec(text)?.[1] ?? text;
  if (like === "number" && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (like === "boolean" && /^(true|false)$/.test(value)) return value === "true";
  return value;
}

/** The planned arguments of the entity a 406 reply names (type and durability count as arguments). */
export function plannedArguments(plan: TopologyPlan, message: string): Record<string, unknown> | undefined {
  const name = /for (?:queue|exchange) '(.*?)' in vhost/.exec(message)?.[1];
  if (/for exchange '/.test(message)) {
    const exchange = plan.exchanges.find((item) => item.name === name);
    return exchange && { type: exchange.type, durable: exchange.durable };
  }
  const queue = plan.queues.find((item) => item.name === name);
  return queue && { ...queue.arguments, durable: queue.durable };
}

const show = (value: ArgumentValue | undefined) =>
  value === null || value === undefined ? "absent" : `'${String(value)}'`;

/** Which setting would make the plan match the broker instead, for the "or set …" half of a fix. */
const SETTING_FOR_ARGUMENT: Record<string, string> = {
  "x-queue-type": "queue.type",
  "x-delivery-limit": "queue.deliveryLimit",
  "x-message-ttl": "queue.delayRungsMs",
};

/** One line that names the entity, the difference and the fix. */
export function describeMismatch(mismatch: TopologyMismatch): string {
  const { entity, name } = mismatch;
  if (mismatch.problem === "missing") {
    return entity === "binding"
      ? `binding ${name} is missing — messages for it are not routed; run \`worker-toolbox topology apply\``
      : `${entity} ${name} is missing — run \`worker-toolbox topology apply\` (producers also declare it on start)`;
  }
  if (mismatch.problem === "extra") return describeExtra(mismatch);
  if (mismatch.problem === "wrong-type") {
    return (
      `exchange ${name} is a ${show(mismatch.actual)} exchange on the broker but the plan says ${show(mismatch.expected)}` +
      " — delete the exchange (its bindings go with it) and run `worker-toolbox topology apply`"
    );
  }
  const argument = mismatch.argument ?? "?";
  const difference =
    mismatch.expected === null
      ? `argument ${argument} is ${show(mismatch.actual)} on the broker but the plan has none`
      : `argument ${argument} is ${show(mismatch.actual)} on the broker but the plan says ${show(mismatch.expected)}`;
  const recreate =
    entity === "queue"
      ? "delete and re-create the queue after draining it"
      : "delete and re-create the exchange (then run `worker-toolbox topology apply`)";
  const alternative = entity === "queue" ? settingMatching(argument, mismatch.actual) : undefined;
  return `${entity} ${name}: ${difference} — ${recreate}${alternative ? `, or ${alternative}` : ""}`;
}

/** The setting that makes the plan declare what the broker has, when there is one. */
function settingMatching(argument: string, actual: ArgumentValue | undefined): string | undefined {
  const absent = actual === null || actual === undefined;
  if (argument === "x-quorum-initial-group-size")
    return absent ? `unset ${envVarName("queue.replicas")}` : `set ${envVarName("queue.replicas")}=${actual}`;
  // Quorum queues created before the plan dead-lettered at least once have neither argument.
  if ((argument === "x-dead-letter-strategy" || argument === "x-overflow") && absent)
    return `set ${envVarName("queue.deadLetterStrategy")}=at-most-once`;
  const setting = SETTING_FOR_ARGUMENT[argument];
  return setting && !absent ? `set ${envVarName(setting)}=${String(actual)}` : undefined;
}

/** The command that removes what no plan has (it lists and re-checks before deleting anything). */
export const PRUNE_COMMAND = "worker-toolbox topology prune --yes";

function describeExtra(mismatch: TopologyMismatch): string {
  const { entity, name } = mismatch;
  if (entity === "binding") {
    const key = /\[(.*)\]$/.exec(name)?.[1] ?? "";
    const [source, destination] = name.replace(/ \[.*\]$/, "").split(" -> ");
    return (
      `binding ${name} is not in the plan — messages routed with ${key} on ${source} also reach ${destination}` +
      `, whose worker cannot run them; remove it: \`${PRUNE_COMMAND}\``
    );
  }
  if (entity === "queue") {
    const held = typeof mismatch.actual === "number" ? ` (holds ${mismatch.actual} message(s))` : "";
    return (
      `queue ${name} is not in the plan${held} — nothing the toolbox runs consumes it; ` +
      `remove it: \`${PRUNE_COMMAND}\`${held ? " (add --force to delete a queue that holds messages)" : ""}`
    );
  }
  return `exchange ${name} is not in the plan — remove it: \`${PRUNE_COMMAND}\``;
}

/** The broker's topology differs from the plan; `mismatches` lists every difference found. */
export class TopologyMismatchError extends ToolboxError {
  readonly mismatches: readonly TopologyMismatch[];
  constructor(mismatches: TopologyMismatch[], plan?: Pick<TopologyPlan, "prefix">) {
    const where = plan ? ` for environment "${plan.prefix}"` : "";
    const count = `${mismatches.length} difference${mismatches.length === 1 ? "" : "s"}`;
    super(
      "TOPOLOGY_MISMATCH",
      `The broker's topology differs from the plan${where} (${count}):\n${mismatches
        .map((mismatch) => `  - ${describeMismatch(mismatch)}`)
        .join("\n")}`,
    );
    this.mismatches = mismatches;
  }
}
