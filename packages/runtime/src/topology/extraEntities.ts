import {
  entityNames,
  type PlannedBinding,
  serviceBindingKey,
  type TopologyPlan,
} from "@worker-toolbox/config";
import type { BindingInfo, ExchangeInfo, ManagementClient, QueueInfo } from "../management/client.js";
import { bindingName, type TopologyMismatch } from "./mismatch.js";

/**
 * Drift the other way round: bindings, queues and exchanges under the environment prefix that no plan has.
 * They are not harmless. A `billing.#` binding on the `order-export` queue hands billing's tasks to
 * order-export's worker, which cannot run them and stores a FAILURE over the result billing's worker stored;
 * a stale delay rung keeps holding retries nobody expects; a stray queue collects copies forever.
 *
 * What counts as planned is the plan being verified widened to every service present on the broker (a
 * `<prefix>.<service>` queue with its `<prefix>.<service>.dead` sibling, the same rule `doctor` uses to find
 * services), since verifying one service must not call its neighbours extra. Celery's exchanges
 * (`<prefix>.celery.pidbox` for remote control, `<prefix>.celeryev` for events) are in the plan; whatever is
 * bound to them is not judged: each worker process (ours and Celery's) binds its own pidbox queue, and event
 * receivers (the dashboard, Flower, `celery events`) their own server-named queues.
 */
export interface Listings {
  queues: readonly Pick<QueueInfo, "name" | "messages" | "messagesReady">[];
  exchanges: readonly Pick<ExchangeInfo, "name">[];
  bindings: readonly BindingInfo[];
}

export async function listUnderPrefix(
  client: ManagementClient,
  vhost: string,
  prefix: string,
): Promise<Listings> {
  const [queues, exchanges, bindings] = await Promise.all([
    client.listQueues(vhost),
    client.listExchanges(vhost),
    client.listBindings(vhost),
  ]);
  const under = (name: string) => name.startsWith(`${prefix}.`);
  return {
    queues: queues.filter((queue) => under(queue.name)),
    exchanges: exchanges.filter((exchange) => under(exchange.name)),
    // The default exchange ("") binds every queue by name: not a binding anyone declared.
    bindings: bindings.filter(
      (binding) => binding.source !== "" && (under(binding.source) || under(binding.destination)),
    ),
  };
}

/** One entity under the prefix that no plan explains. */
export type ExtraEntity =
  | { entity: "exchange"; name: string }
  | { entity: "queue"; name: string; messages: number | null }
  | { entity: "binding"; name: string; binding: BindingInfo };

/** Every entity under the plan's prefix that neither the plan nor a service present on the broker explains. */
export function extraEntities(plan: TopologyPlan, listed: Listings): ExtraEntity[] {
  const names = entityNames(plan.prefix);
  const services = servicesPresent(plan.prefix, new Set(listed.queues.map((queue) => queue.name)));
  const known = widenPlan(plan, services);
  const celery = new Set([names.controlExchange, names.eventExchange]);
  const extras: ExtraEntity[] = [];
  for (const exchange of listed.exchanges) {
    if (!known.exchanges.has(exchange.name) && !celery.has(exchange.name))
      extras.push({ entity: "exchange", name: exchange.name });
  }
  for (const queue of listed.queues) {
    if (known.queues.has(queue.name)) continue;
    extras.push({
      entity: "queue",
      name: queue.name,
      messages: queue.messages ?? queue.messagesReady ?? null,
    });
  }
  for (const binding of listed.bindings) {
    if (celery.has(binding.source)) continue; // Each worker's pidbox queue, each event receiver's queue.
    const planned = toPlanned(binding);
    if (!known.bindings.has(bindingKey(planned)))
      extras.push({ entity: "binding", name: bindingName(planned), binding });
  }
  return extras;
}

/** The extras as topology differences (`problem: "extra"`; a queue's message count in `actual`). */
export function findExtras(plan: TopologyPlan, listed: Listings): TopologyMismatch[] {
  return extraEntities(plan, listed).map((extra) =>
    extra.entity === "queue"
      ? { entity: "queue", name: extra.name, problem: "extra", actual: extra.messages }
      : { entity: extra.entity, name: extra.name, problem: "extra" },
  );
}

/** `<prefix>.<service>` queues that have a `.dead` sibling. */
function servicesPresent(prefix: string, queues: ReadonlySet<string>): string[] {
  const services: string[] = [];
  for (const name of queues) {
    const rest = name.slice(prefix.length + 1);
    if (rest.includes(".") || rest === "platform" || rest === "delay") continue;
    if (queues.has(`${name}.dead`)) services.push(rest);
  }
  return services;
}

function widenPlan(plan: TopologyPlan, services: readonly string[]) {
  const names = entityNames(plan.prefix);
  const exchanges = new Set([
    ...plan.exchanges.map((e) => e.name),
    names.controlExchange,
    names.eventExchange,
  ]);
  const queues = new Set(plan.queues.map((q) => q.name));
  const bindings = new Set(plan.bindings.map(bindingKey));
  for (const service of services) {
    queues.add(names.serviceQueue(service));
    queues.add(names.serviceDeadLetterQueue(service));
    queues.add(names.serviceDeadLetterWatchQueue(service));
    bindings.add(
      bindingKey({
        exchange: names.exchange,
        queue: names.serviceQueue(service),
        routingKey: serviceBindingKey(service),
        arguments: {},
      }),
    );
    for (const queue of [names.serviceDeadLetterQueue(service), names.serviceDeadLetterWatchQueue(service)]) {
      bindings.add(
        bindingKey({ exchange: names.deadLetterExchange, queue, routingKey: service, arguments: {} }),
      );
    }
  }
  return { exchanges, queues, bindings };
}

export function toPlanned(binding: BindingInfo): PlannedBinding {
  const args = Object.fromEntries(
    Object.entries(binding.arguments).map(([key, value]) => [key, String(value)] as const),
  );
  return {
    exchange: binding.source,
    queue: binding.destination,
    routingKey: binding.routingKey,
    arguments: args,
  };
}

/** Equal for the same source, destination and key (topic) or the same header arguments (headers). */
function bindingKey(binding: PlannedBinding): string {
  const args = Object.keys(binding.arguments)
    .sort()
    .map((key) => `${key}=${binding.arguments[key]}`)
    .join(",");
  return `${binding.exchange}\u0000${binding.queue}\u0000${args ? `{${args}}` : binding.routingKey}`;
}
