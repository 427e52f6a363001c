import { type PlannedWorkerQueue, type TopologyPlan, WORKER_ID_PLACEHOLDER } from "@worker-toolbox/config";
import type { Channel } from "amqplib";
import { bindingName, parseInequivalentArg, plannedArguments, TopologyMismatchError } from "./mismatch.js";

/** What `applyTopology` declared, in order (names only; the plan has the details). */
export interface AppliedTopology {
  exchanges: string[];
  queues: string[];
  bindings: string[];
}

/**
 * Assert every exchange, queue and binding of the plan: the only code that declares topology. Asserting
 * what already exists with the same type and arguments changes nothing, so this is idempotent and every
 * producer may run it on start.
 *
 * A queue or exchange that exists with other arguments makes the broker close `channel` with a 406; that
 * surfaces as a `TopologyMismatchError` naming the entity and argument. The caller's channel is then closed
 * (AMQP gives no way around that), so pass a channel you can give up, or use `verifyTopology` first.
 */
export async function applyTopology(channel: Channel, plan: TopologyPlan): Promise<AppliedTopology> {
  const applied: AppliedTopology = { exchanges: [], queues: [], bindings: [] };
  try {
    for (const exchange of plan.exchanges) {
      await channel.assertExchange(exchange.name, exchange.type, { durable: exchange.durable });
      applied.exchanges.push(exchange.name);
    }
    for (const queue of plan.queues) {
      await channel.assertQueue(queue.name, { durable: queue.durable, arguments: queue.arguments });
      applied.queues.push(queue.name);
    }
    for (const binding of plan.bindings) {
      await channel.bindQueue(binding.queue, binding.exchange, binding.routingKey, binding.arguments);
      applied.bindings.push(bindingName(binding));
    }
  } catch (error) {
    const message = (error as Error).message ?? "";
    const planned = plannedArguments(plan, message);
    const mismatch = parseInequivalentArg(message, planned);
    if (mismatch) throw Object.assign(new TopologyMismatchError([mismatch], plan), { cause: error });
    throw error;
  }
  return applied;
}

/**
 * Declare the plan's per-worker queues for one worker process (`workerId`, its node name, fills the name's
 * `{worker}`): exclusive to `channel`'s connection (deleted with it; declare them again after a reconnect),
 * each bound to its exchange. Returns them by role, with the names
 * the broker knows them by. Their exchanges come from `applyTopology`.
 */
export async function applyWorkerQueues(
  channel: Channel,
  plan: TopologyPlan,
  service: string,
  workerId: string,
): Promise<Map<PlannedWorkerQueue["role"], string>> {
  const declared = new Map<PlannedWorkerQueue["role"], string>();
  for (const queue of plan.workerQueues.filter((q) => q.service === service)) {
    const name = queue.name.replace(WORKER_ID_PLACEHOLDER, workerId);
    await channel.assertQueue(name, {
      durable: queue.durable,
      exclusive: queue.exclusive,
      autoDelete: queue.autoDelete,
      arguments: queue.arguments,
    });
    await channel.bindQueue(name, queue.exchange, queue.routingKey);
    declared.set(queue.role, name);
  }
  return declared;
}
