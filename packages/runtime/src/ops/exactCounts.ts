import type { ChannelModel } from "amqplib";
import { isNotFound, withThrowawayChannel } from "../broker/throwawayChannel.js";
import type { QueueInfo } from "../management/client.js";

/**
 * The management API's queue counts are samples the broker refreshes every few seconds
 * (`collect_statistics_interval`): right after three messages are dead-lettered it still says 0, seconds
 * after a worker starts it still says 0 consumers. A passive declare answers with the queue's ready count and
 * consumer count as they are at that moment. Both are taken; where they differ, the exact ones win and the
 * sample is kept in `sampled` so reports can say so.
 */
/** The counts of a queue sample (sampleQueues.ts) that the exact ones correct. */
export interface CountedSample {
  depth: number | undefined;
  consumers: number | undefined;
  sampled?: { depth: number | undefined; consumers: number | undefined };
}

export interface ExactCounts {
  ready: number;
  consumers: number;
}

/** Ready messages and consumers of `queue` right now; undefined when it does not exist. */
export async function exactCounts(connection: ChannelModel, queue: string): Promise<ExactCounts | undefined> {
  try {
    const ok = await withThrowawayChannel(connection, (channel) => channel.checkQueue(queue));
    return { ready: ok.messageCount, consumers: ok.consumerCount };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Put the exact counts into a sample made from the management API. Depth is exact ready plus the sampled
 * unacknowledged count (only the API knows it), which is 0 when there are no consumers to hold any.
 */
export function applyExactCounts(
  sample: CountedSample,
  info: QueueInfo,
  exact: ExactCounts | undefined,
): void {
  if (!exact) return; // Deleted between the listing and the declare; the next sample says so.
  const unacknowledged = exact.consumers === 0 ? 0 : (info.messagesUnacknowledged ?? 0);
  const depth = exact.ready + unacknowledged;
  if (depth !== sample.depth || exact.consumers !== sample.consumers) {
    sample.sampled = { depth: sample.depth, consumers: sample.consumers };
  }
  sample.depth = depth;
  sample.consumers = exact.consumers;
}

/** ` (the management API's sample says 0)` when the sample differed from the exact count, else "". */
export function sampledNote(sample: CountedSample, field: "depth" | "consumers"): string {
  const sampled = sample.sampled?.[field];
  if (!sample.sampled || sampled === sample[field]) return "";
  return ` (exact; the management API's sample says ${sampled ?? "nothing yet"})`;
}
