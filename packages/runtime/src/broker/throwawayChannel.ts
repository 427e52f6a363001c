import type { Channel, ChannelModel } from "amqplib";

/**
 * Run `use` on a channel of its own and close it afterwards. A 404 from a passive declare closes that
 * channel only; the connection, and every other check, carries on. Messages taken with `get` and not
 * settled go back to their queue when the channel closes.
 */
export async function withThrowawayChannel<T>(
  connection: ChannelModel,
  use: (channel: Channel) => Promise<T>,
): Promise<T> {
  const channel = await connection.createChannel();
  let closed = false;
  channel.on("error", () => {}); // The rejected call carries the reason.
  channel.on("close", () => {
    closed = true;
  });
  try {
    return await use(channel);
  } finally {
    if (!closed) await channel.close().catch(() => {});
  }
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 404;
}

/** RabbitMQ's version from the connection handshake, e.g. `3.13.7`; "" when it did not say. */
export function brokerVersion(connection: ChannelModel): string {
  const version = connection.connection?.serverProperties?.version;
  return typeof version === "string" ? version : "";
}

/** True when `version` is at least `major.minor`. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split(".").map((part) => Number.parseInt(part, 10));
  if (a === undefined || Number.isNaN(a)) return false;
  return a > major || (a === major && (b ?? 0) >= minor);
}
