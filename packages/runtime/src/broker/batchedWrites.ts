/**
 * One socket write per turn of amqplib's writer instead of one per frame chunk.
 *
 * amqplib queues each channel's frames in a buffer and its muxer (lib/mux.js) copies them to the socket in a
 * loop, one `socket.write()` a chunk. A net.Socket whose previous write completed writes every chunk at once:
 * one `write(2)` system call each, and a publish of more than 2 KiB is two chunks (method + header, then the
 * body). Corking the socket for the loop's duration hands the same bytes, in the same order, to one
 * `writev(2)` when the loop ends: what `sendMany` writes in a turn goes out in one call, and the broker
 * reads it in one go. Nothing waits for a timer: the loop is synchronous, and the uncork at its end flushes.
 *
 * This reaches into amqplib 2.x's internals (pinned, see framedPublish.ts): when they are not what it
 * expects, it changes nothing and amqplib writes as before.
 */
import type { ChannelModel } from "amqplib";

interface MuxInternals {
  _readIncoming(): void;
}
interface ConnectionInternals {
  muxer?: MuxInternals;
  stream?: { cork?(): void; uncork?(): void };
}

/** Whether the connection's muxer now corks its socket (false: amqplib's internals were not as expected). */
export function batchSocketWrites(model: ChannelModel): boolean {
  const connection = (model as unknown as { connection?: ConnectionInternals }).connection;
  const muxer = connection?.muxer;
  const stream = connection?.stream;
  if (
    !muxer ||
    typeof muxer._readIncoming !== "function" ||
    typeof stream?.cork !== "function" ||
    typeof stream.uncork !== "function"
  )
    return false;
  const readIncoming = muxer._readIncoming;
  const socket = stream as { cork(): void; uncork(): void };
  muxer._readIncoming = function corked(this: MuxInternals) {
    socket.cork();
    try {
      readIncoming.call(this);
    } finally {
      socket.uncork();
    }
  };
  return true;
}
