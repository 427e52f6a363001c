/**
 * Where a message lands, computed from the broker's own exchanges and bindings (read through the management
 * API) with AMQP's routing rules. Reading instead of publishing keeps the worker under test from consuming
 * the probe; the round-trip cases prove the real delivery.
 */
export interface RouteExchange {
  name: string;
  type: string;
}

export interface RouteBinding {
  source: string;
  destination: string;
  destinationType: "queue" | "exchange";
  routingKey: string;
}

/** AMQP topic matching: words split on `.`, `*` is exactly one word, `#` zero or more. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern === "" ? [] : pattern.split(".");
  const k = key === "" ? [] : key.split(".");
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    const word = p[i]!;
    if (word === "#") {
      for (let next = j; next <= k.length; next++) if (match(i + 1, next)) return true;
      return false;
    }
    if (j === k.length) return false;
    return (word === "*" || word === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

/** Does `binding` on an exchange of `type` take a message with `routingKey`? Headers exchanges: unknown. */
function bindingTakes(type: string, bindingKey: string, routingKey: string): boolean | undefined {
  switch (type) {
    case "topic":
      return topicMatches(bindingKey, routingKey);
    case "direct":
      return bindingKey === routingKey;
    case "fanout":
      return true;
    default:
      return undefined;
  }
}

export interface Route {
  queues: string[];
  /** Exchanges on the way whose type cannot be evaluated from the routing key (headers). */
  unknown: string[];
  /** The start exchange does not exist. */
  missingExchange: boolean;
}

/** The queues a message published to `exchange` with `routingKey` reaches, following exchange bindings. */
export function route(
  exchanges: readonly RouteExchange[],
  bindings: readonly RouteBinding[],
  exchange: string,
  routingKey: string,
): Route {
  const byName = new Map(exchanges.map((item) => [item.name, item]));
  const queues = new Set<string>();
  const unknown = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const type = byName.get(name)?.type;
    if (type === undefined) return;
    for (const binding of bindings) {
      if (binding.source !== name) continue;
      const takes = bindingTakes(type, binding.routingKey, routingKey);
      if (takes === undefined) unknown.add(name);
      if (!takes) continue;
      if (binding.destinationType === "queue") queues.add(binding.destination);
      else visit(binding.destination);
    }
  };
  visit(exchange);
  return { queues: [...queues].sort(), unknown: [...unknown].sort(), missingExchange: !byName.has(exchange) };
}

/** `{export, platform}`: queue names without the environment prefix, sorted. */
export function shortQueueSet(queues: readonly string[], prefix: string): string {
  const short = queues.map((queue) =>
    queue.startsWith(`${prefix}.`) ? queue.slice(prefix.length + 1) : queue,
  );
  return `{${[...new Set(short)].sort().join(", ")}}`;
}
