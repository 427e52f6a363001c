/**
 * The platform copy of the end-to-end bench's raw pipelines (`raw-batched@stream|@lazy|@classic|@none`) and
 * who reads it with BENCH_E2E_TRACKER=on (bench/README.md, "The platform copy").
 */
import { entityNames } from "@worker-toolbox/config";
import type amqp from "amqplib";
import type { Kind, System } from "./settings.js";

/** The kinds of platform queue a raw pipeline can run with instead of the quorum queue (or none). */
export const PLATFORM_COPIES = {
  classic: { "x-queue-type": "classic" },
  lazy: { "x-queue-type": "classic", "x-queue-mode": "lazy" },
  stream: { "x-queue-type": "stream" },
  none: undefined,
} as const;
export type PlatformCopy = keyof typeof PLATFORM_COPIES;

/** Declare the platform queue of a `raw-…@<copy>` system as that kind of queue (or none), bound with `#`. */
export async function replacePlatformCopy(connection: amqp.ChannelModel, prefix: string, system: System) {
  const copy = system.split("@")[1] as PlatformCopy;
  const names = entityNames(prefix);
  const channel = await connection.createChannel();
  await channel.deleteQueue(names.platformQueue);
  const args = PLATFORM_COPIES[copy];
  if (args) {
    await channel.assertQueue(names.platformQueue, { durable: true, arguments: args });
    await channel.bindQueue(names.platformQueue, names.exchange, "#");
  }
  await channel.close();
}

/**
 * The platform copy's reader of a system (BENCH_E2E_TRACKER=on): the toolbox's own tracker for the toolbox
 * (a quorum platform queue), bench/e2e/platform.mjs for a raw pipeline (the tracker's reads and writes with
 * plain amqplib, so it can read a stream or a lazy queue too); none for `@none`, BullMQ and Celery.
 */
export function trackerOf(system: System): [file: string, role: string] | undefined {
  const [kind, copy] = system.split("@") as [Kind, PlatformCopy | undefined];
  if (kind === "toolbox" || kind === "toolbox-base") return ["toolbox.mjs", "tracker"];
  if (!kind.startsWith("raw-") || copy === "none") return undefined;
  return ["platform.mjs", copy ?? "quorum"];
}
