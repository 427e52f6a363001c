/**
 * Incoming content headers decoded by contentHeader.ts instead of amqplib's generic decoder, on the connections
 * the toolbox opens. Every other frame (methods, bodies, heartbeats) is still decoded by amqplib.
 *
 * amqplib 2.x reads frames in its connection's `recvFrame` (lib/connection.js): parse one frame from the
 * bytes read so far (`parseFrame`, lib/frame.js), else read more from the socket and try again; then decode it
 * (`decodeFrame`). This installs the same method on one connection, with the decoding of a basic content header
 * (class 60) done here; what it throws is what amqplib's decoder throws, and amqplib handles it as before (a
 * frame error closes the connection; the unacknowledged deliveries return to their queue). One change besides:
 * bytes read while nothing is left over are kept as they are instead of copied (`Buffer.concat` of nothing and
 * them).
 *
 * It reaches into amqplib's internals (pinned, as batchedWrites.ts and framedPublish.ts do): when they are not
 * what it expects, it changes nothing and amqplib decodes as before.
 * test/broker/contentHeaders.int.test.ts checks against RabbitMQ that a toolbox connection takes this path and
 * receives what amqplib's decoder gives.
 */

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ChannelModel } from "amqplib";
import { decodeBasicProperties } from "./contentHeader.js";

const FRAME_HEADER = 2;
const BASIC_CLASS = 60;

interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
  rest: Buffer;
}

interface FrameModule {
  parseFrame(bin: Buffer, max: number): Frame | false;
  decodeFrame(frame: Frame): unknown;
}

interface ConnectionInternals {
  rest: Buffer;
  maxFrameSize: number;
  recvSinceLastCheck: boolean;
  stream: { read(): Buffer | null };
  recvFrame(): unknown;
}

let frames: FrameModule | null | undefined;

/** Content headers decoded here, in this process (tests check the path is taken). */
export const decodedHeaders = { count: 0 };

/** amqplib's lib/frame.js (not in its `exports` map: loaded by path), or null when it is not as expected. */
function frameModule(): FrameModule | null {
  if (frames !== undefined) return frames;
  try {
    const require = createRequire(import.meta.url);
    const loaded = require(
      join(dirname(require.resolve("amqplib")), "lib", "frame.js"),
    ) as Partial<FrameModule>;
    frames =
      typeof loaded.parseFrame === "function" && typeof loaded.decodeFrame === "function"
        ? (loaded as FrameModule)
        : null;
  } catch {
    frames = null;
  }
  return frames;
}

/** Whether the connection now decodes content headers here (false: amqplib's internals were not as expected). */
export function decodeContentHeaders(model: ChannelModel): boolean {
  const connection = (model as unknown as { connection?: Partial<ConnectionInternals> }).connection;
  const module = frameModule();
  if (
    !module ||
    !connection ||
    typeof connection.recvFrame !== "function" ||
    !Buffer.isBuffer(connection.rest) ||
    typeof connection.maxFrameSize !== "number" ||
    typeof connection.stream?.read !== "function"
  )
    return false;
  const { parseFrame, decodeFrame } = module;
  connection.recvFrame = function recvFrame(this: ConnectionInternals): unknown {
    for (;;) {
      const frame = parseFrame(this.rest, this.maxFrameSize);
      if (frame) {
        this.rest = frame.rest;
        return decode(frame, decodeFrame);
      }
      const incoming = this.stream.read();
      if (incoming === null) return false;
      this.recvSinceLastCheck = true;
      this.rest = this.rest.length === 0 ? incoming : Buffer.concat([this.rest, incoming]);
    }
  };
  return true;
}

/** A basic content header decoded here, as amqplib's decodeFrame returns it; any other frame by amqplib. */
function decode(frame: Frame, decodeFrame: FrameModule["decodeFrame"]): unknown {
  const { payload } = frame;
  if (frame.type !== FRAME_HEADER || payload.length < 2 || payload.readUInt16BE(0) !== BASIC_CLASS)
    return decodeFrame(frame);
  const size = Number(payload.readBigInt64BE(4));
  decodedHeaders.count += 1;
  return {
    id: BASIC_CLASS,
    channel: frame.channel,
    size,
    fields: decodeBasicProperties(payload.subarray(12)),
  };
}
