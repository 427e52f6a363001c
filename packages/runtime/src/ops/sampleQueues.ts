import type { QueueType } from "@worker-toolbox/config";
import type { ChannelModel } from "amqplib";
import { brokerVersion, versionAtLeast, withThrowawayChannel } from "../broker/throwawayChannel.js";
import type { ManagementClient, QueueInfo, QueueRates } from "../management/client.js";
import { applyExactCounts, exactCounts } from "./exactCounts.js";
import { publishedAtMs } from "./messageTime.js";
import type { OpsTarget } from "./targets.js";

/**
 * One look at the queues of some services: depth, consumers, rates and the age of the oldest message.
 *
 * With the management API: depth is ready + unacknowledged, rates come from `message_stats`, and classic
 * queues report the head message's `timestamp`. Without it (AMQP passive declares only): depth is the
 * ready count, consumers are counted, and there are no rates.
 *
 * The oldest message's age, when the API does not give it, comes from a peek: `basic.get` of the head
 * message and `basic.nack(requeue)`. A peek is only done where returning a message is harmless: classic
 * queues (it only sets the redelivered flag) and quorum queues on RabbitMQ 4.3+, where a nack no longer
 * counts toward the delivery limit. On older brokers every return of a quorum-queue message counts, and
 * peeking at each sample would dead-letter the head message after `queue.deliveryLimit` samples.
 * Celery messages carry no publish time, so a peek only helps when producers set the `timestamp`
 * property or the broker stamps messages (see docs/operations.md).
 */
export interface QueueSample {
  /** Service name, or `platform` for the tracker's queue. */
  service: string;
  queue: string;
  role: "tasks" | "dead-letters";
  exists: boolean;
  /** Management API: ready + unacknowledged. AMQP: ready only. */
  depth: number | undefined;
  consumers: number | undefined;
  /** Messages per second (management API only). */
  rates: QueueRates | undefined;
  oldestAgeMs: number | undefined;
  ageSource: "management" | "peek" | "empty" | "unknown";
  /** Why the age is unknown. */
  ageNote: string | undefined;
  /**
   * The management API's sampled counts, when they differ from the exact ones (a passive declare) that
   * `depth` and `consumers` hold. Absent when they agree or only AMQP was used.
   */
  sampled?: { depth: number | undefined; consumers: number | undefined };
}

export interface QueueSnapshot {
  at: string;
  source: "management-api" | "amqp";
  /** Why the management API was not used. */
  fallbackReason: string | undefined;
  queues: QueueSample[];
}

export interface SampleQueuesOptions {
  connection: ChannelModel;
  targets: readonly OpsTarget[];
  /** The management API, or why it is not available (the snapshot falls back to AMQP). */
  management: { client: ManagementClient; vhost: string } | { unavailable: string };
  /** The configured queue type: what AMQP-only sampling assumes, since a passive declare cannot tell. */
  queueType: QueueType;
  /** Measure the oldest message's age of task queues (default true). */
  measureAge?: boolean;
  now?: () => number;
}

export async function sampleQueues(options: SampleQueuesOptions): Promise<QueueSnapshot> {
  const now = options.now ?? Date.now;
  const at = new Date(now()).toISOString();
  let infos: Map<string, QueueInfo> | undefined;
  let fallbackReason = "unavailable" in options.management ? options.management.unavailable : undefined;
  if ("client" in options.management) {
    try {
      const { client, vhost } = options.management;
      infos = new Map((await client.listQueues(vhost)).map((info) => [info.name, info]));
    } catch (error) {
      fallbackReason = firstLine(error);
    }
  }
  const version = brokerVersion(options.connection);
  const queues: QueueSample[] = [];
  for (const target of options.targets) {
    for (const [queue, role] of [
      [target.queue, "tasks"],
      [target.deadLetterQueue, "dead-letters"],
    ] as const) {
      const info = infos?.get(queue);
      const sample = infos
        ? fromManagement(target.service, queue, role, info)
        : await fromAmqp(options.connection, target.service, queue, role);
      if (info && sample.exists) applyExactCounts(sample, info, await exactCounts(options.connection, queue));
      if (role === "tasks" && options.measureAge !== false) {
        const type = infos?.get(queue)?.type ?? options.queueType;
        await measureAge(options.connection, sample, infos?.get(queue), type, version, now());
      } else {
        sample.ageNote = role === "tasks" ? "not measured" : "not measured for dead-letter queues";
      }
      queues.push(sample);
    }
  }
  return {
    at,
    source: infos ? "management-api" : "amqp",
    fallbackReason: infos ? undefined : fallbackReason,
    queues,
  };
}

function blank(service: string, queue: string, role: QueueSample["role"]): QueueSample {
  return {
    service,
    queue,
    role,
    exists: false,
    depth: undefined,
    consumers: undefined,
    rates: undefined,
    oldestAgeMs: undefined,
    ageSource: "unknown",
    ageNote: undefined,
  };
}

function fromManagement(
  service: string,
  queue: string,
  role: QueueSample["role"],
  info: QueueInfo | undefined,
): QueueSample {
  const sample = blank(service, queue, role);
  if (!info) return sample;
  sample.exists = true;
  // `messages` is undefined until the broker's first stats sample of a new queue.
  sample.depth = info.messages ?? (info.messagesReady ?? 0) + (info.messagesUnacknowledged ?? 0);
  sample.consumers = info.consumers;
  sample.rates = info.rates;
  return sample;
}

async function fromAmqp(
  connection: ChannelModel,
  service: string,
  queue: string,
  role: QueueSample["role"],
): Promise<QueueSample> {
  const sample = blank(service, queue, role);
  const exact = await exactCounts(connection, queue);
  if (exact) {
    sample.exists = true;
    sample.depth = exact.ready;
    sample.consumers = exact.consumers;
  }
  return sample;
}

async function measureAge(
  connection: ChannelModel,
  sample: QueueSample,
  info: QueueInfo | undefined,
  queueType: string,
  version: string,
  now: number,
): Promise<void> {
  if (!sample.exists) {
    sample.ageNote = "queue missing";
    return;
  }
  if (info?.headMessageTimestamp !== undefined) {
    sample.oldestAgeMs = Math.max(0, now - info.headMessageTimestamp * 1_000);
    sample.ageSource = "management";
    return;
  }
  // Ready messages only: unacknowledged ones are being worked on and cannot be peeked at.
  const ready = info ? (info.messagesReady ?? sample.depth ?? 0) : (sample.depth ?? 0);
  if (ready === 0) {
    sample.oldestAgeMs = 0;
    sample.ageSource = "empty";
    return;
  }
  if (queueType !== "classic" && !versionAtLeast(version, 4, 3)) {
    sample.ageNote =
      `${queueType} queues do not report the head message's timestamp, and a peek on RabbitMQ ` +
      `${version || "< 4.3"} would count toward the delivery limit`;
    return;
  }
  const stamp = await withThrowawayChannel(connection, async (channel) => {
    const message = await channel.get(sample.queue, { noAck: false });
    if (!message) return null;
    channel.nack(message, false, true);
    return publishedAtMs(message) ?? undefined;
  });
  if (stamp === null) {
    // Taken by a consumer between the count and the peek.
    sample.oldestAgeMs = 0;
    sample.ageSource = "empty";
  } else if (stamp === undefined) {
    sample.ageNote = "the head message carries no timestamp (property or timestamp_in_ms header)";
  } else {
    sample.oldestAgeMs = Math.max(0, now - stamp);
    sample.ageSource = "peek";
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}
