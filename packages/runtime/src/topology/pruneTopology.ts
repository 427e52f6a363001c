import type { TopologyPlan } from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import { withThrowawayChannel } from "../broker/throwawayChannel.js";
import type { ManagementClient } from "../management/client.js";
import { type ExtraEntity, extraEntities, listUnderPrefix } from "./extraEntities.js";

/**
 * `worker-toolbox topology prune`: delete what `verify` reports as extra (bindings, queues, exchanges under the
 * prefix that no plan has), bindings first. A queue that holds messages is kept unless `force` (its messages
 * would go with it); an exchange is deleted only when unused unless `force`. Each deletion runs on its own
 * channel, so one refusal does not stop the rest.
 */
export interface PruneTopologyOptions {
  connection: ChannelModel;
  client: ManagementClient;
  vhost: string;
  plan: TopologyPlan;
  /** Delete queues that hold messages and exchanges still in use. */
  force?: boolean;
  /** Only list what would be deleted. */
  dryRun?: boolean;
}

export interface PruneTopologyResult {
  removed: ExtraEntity[];
  /** Extras left in place, with why. */
  kept: { extra: ExtraEntity; reason: string }[];
}

export async function pruneTopology(options: PruneTopologyOptions): Promise<PruneTopologyResult> {
  const { connection, plan } = options;
  const extras = extraEntities(plan, await listUnderPrefix(options.client, options.vhost, plan.prefix));
  const result: PruneTopologyResult = { removed: [], kept: [] };
  if (options.dryRun) return { removed: [], kept: extras.map((extra) => ({ extra, reason: "dry run" })) };
  const order = { binding: 0, queue: 1, exchange: 2 } as const;
  for (const extra of [...extras].sort((a, b) => order[a.entity] - order[b.entity])) {
    try {
      await withThrowawayChannel(connection, (channel) => remove(channel, extra, options.force === true));
      result.removed.push(extra);
    } catch (error) {
      result.kept.push({ extra, reason: reasonOf(error, extra) });
    }
  }
  return result;
}

async function remove(
  channel: Awaited<ReturnType<ChannelModel["createChannel"]>>,
  extra: ExtraEntity,
  force: boolean,
): Promise<void> {
  if (extra.entity === "binding") {
    const { source, destination, destinationType, routingKey, arguments: args } = extra.binding;
    if (destinationType === "exchange") await channel.unbindExchange(destination, source, routingKey, args);
    else await channel.unbindQueue(destination, source, routingKey, args);
    return;
  }
  if (extra.entity === "queue") {
    // Exact, not the management API's sample: a queue that just received messages is not empty.
    const { messageCount } = await channel.checkQueue(extra.name);
    if (messageCount > 0 && !force)
      throw new KeptError(`holds ${messageCount} message(s); drain it or pass --force`);
    await channel.deleteQueue(extra.name, { ifEmpty: !force });
    return;
  }
  await channel.deleteExchange(extra.name, { ifUnused: !force });
}

class KeptError extends Error {}

function reasonOf(error: unknown, extra: ExtraEntity): string {
  if (error instanceof KeptError) return error.message;
  const code = (error as { code?: unknown }).code;
  if (code === 406 && extra.entity === "queue") return "not empty; drain it or pass --force";
  if (code === 406 && extra.entity === "exchange") return "still bound; pass --force";
  if (code === 404) return "already gone";
  return (error as Error).message.split("\n")[0] ?? String(error);
}
