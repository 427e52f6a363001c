/**
 * `ConfirmChannel.publish` with the frames encoded by publishFrames.ts instead of amqplib's generic encoder,
 * written to the same place amqplib writes them (the channel's outgoing buffer), with the same confirm
 * bookkeeping (`pushConfirmCallback`, as amqplib's ConfirmChannel.publish does after writing).
 *
 * This reaches into amqplib 2.x's channel internals, so it checks them first and falls back to the public
 * `publish` whenever they are not what it expects — a closed channel or connection included (amqplib
 * replaces their send methods with ones that throw IllegalOperationError: the fallback throws the same) —
 * and for any message the encoder does not write itself.
 * test/producer/framedPublish.int.test.ts runs the fast path against RabbitMQ and checks it was taken.
 */
import type { ConfirmChannel, Options } from "amqplib";
import { encodePublishChunks } from "./publishFrames.js";

interface ChannelInternals {
  ch: number;
  pushConfirmCallback(cb: (error: Error | null) => void): void;
  connection: {
    frameMax: number;
    sentSinceLastCheck: boolean;
    channels: ({ buffer: { write(bytes: Buffer): boolean } } | undefined)[];
  };
}

/** The internals a framed publish needs, or undefined when amqplib's are not as expected (or closed). */
function internalsOf(channel: ConfirmChannel): ChannelInternals | undefined {
  const c = channel as unknown as Partial<ChannelInternals> & object;
  const connection = c.connection;
  if (
    typeof c.ch !== "number" ||
    typeof c.pushConfirmCallback !== "function" ||
    !connection ||
    typeof connection.frameMax !== "number" ||
    typeof connection.channels?.[c.ch]?.buffer?.write !== "function" ||
    // amqplib shadows sendMessage on an instance it closed (invalidateSend).
    Object.hasOwn(c, "sendMessage") ||
    Object.hasOwn(connection, "sendMessage")
  )
    return undefined;
  return c as ChannelInternals;
}

/** How many publishes took the framed path (tests check it is the one taken). */
export const framedPublishes = { count: 0 };

/** Publish with `mandatory` set; returns false when the write buffer is full (as amqplib's publish does). */
export function framedPublish(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  properties: Options.Publish,
  messageId: string,
  confirmed: (error: Error | null) => void,
): boolean {
  const internals = internalsOf(channel);
  const fallback = () =>
    channel.publish(exchange, routingKey, content, { ...properties, messageId, mandatory: true }, confirmed);
  if (!internals) return fallback();
  let chunks: Buffer[];
  try {
    chunks = encodePublishChunks({
      channel: internals.ch,
      exchange,
      routingKey,
      mandatory: true,
      properties,
      messageId,
      content,
      frameMax: internals.connection.frameMax,
    });
  } catch {
    // A value this encoder does not write (amqplib's typed {'!': …} values, e.g. a decimal header decoded
    // from a message being republished), or one amqplib refuses too: amqplib encodes it, or throws its error.
    return fallback();
  }
  const connection = internals.connection;
  connection.sentSinceLastCheck = true;
  const buffer = connection.channels[internals.ch]!.buffer;
  let writable = true;
  for (const chunk of chunks) writable = buffer.write(chunk);
  internals.pushConfirmCallback(confirmed);
  framedPublishes.count++;
  return writable;
}
