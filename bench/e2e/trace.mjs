/**
 * A preload (`node --import ./bench/e2e/trace.mjs ...`, set through BENCH_E2E_NODE_ARGS) that timestamps what
 * a process writes to and reads from its sockets, for bench/e2e/timeline.ts. Writes are stamped when Node
 * hands them to the kernel (`_writeGeneric`), reads when Node pushes them into the stream (`push`, called as
 * the bytes arrive). The clock is `process.hrtime` (CLOCK_MONOTONIC, shared by every process on the machine).
 * Each record names the socket (local and remote port) and what the chunk holds: AMQP frames by class and
 * method, PostgreSQL messages by type. The bench's producer marks each round trip (`globalThis.benchMark`).
 * At exit the records are written to BENCH_TRACE_DIR/<script>-<role>-<pid>.json (only the last 200,000).
 * Measurement only: it adds a few µs per socket operation to every traced process alike.
 */
import { writeFileSync } from "node:fs";
import net from "node:net";
import { basename } from "node:path";

const dir = process.env.BENCH_TRACE_DIR;
const MAX = 200_000;
const records = [];
const now = () => Number(process.hrtime.bigint()) / 1_000; // µs

function record(kind, socket, chunk) {
  if (records.length >= MAX) records.splice(0, MAX / 2);
  records.push([now(), kind, socket?.localPort ?? 0, socket?.remotePort ?? 0, chunk ? describe(chunk) : ""]);
}

/** AMQP frames (type, channel, size, payload, 0xCE) by method; else PostgreSQL messages by their type byte. */
function describe(chunk) {
  const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
  const parts = [];
  let offset = 0;
  const amqp = buffer.length >= 8 && buffer[0] >= 1 && buffer[0] <= 8 && buffer.readUInt16BE(1) < 2048;
  while (offset < buffer.length && parts.length < 12) {
    if (amqp) {
      if (offset + 7 > buffer.length) break;
      const type = buffer[offset];
      const size = buffer.readUInt32BE(offset + 3);
      if (type === 1 && offset + 11 <= buffer.length)
        parts.push(`${buffer.readUInt16BE(offset + 7)}.${buffer.readUInt16BE(offset + 9)}`);
      else parts.push(type === 2 ? "hdr" : type === 3 ? "body" : type === 8 ? "hb" : `t${type}`);
      offset += 8 + size;
    } else {
      const type = String.fromCharCode(buffer[offset]);
      if (offset + 5 > buffer.length) break;
      parts.push(type);
      offset += 1 + buffer.readUInt32BE(offset + 1);
    }
  }
  return `${parts.join(" ")} (${buffer.length} B)`;
}

const writeGeneric = net.Socket.prototype._writeGeneric;
net.Socket.prototype._writeGeneric = function (writev, data, encoding, cb) {
  if (writev) for (const item of data) record("w", this, item.chunk ?? item);
  else record("w", this, data);
  return writeGeneric.call(this, writev, data, encoding, cb);
};
const push = net.Socket.prototype.push;
net.Socket.prototype.push = function (chunk, encoding) {
  if (chunk) record("r", this, chunk);
  return push.call(this, chunk, encoding);
};
globalThis.benchMark = (what) => record(what, undefined, undefined);

if (dir) {
  const script = basename(process.argv[1] ?? "node", ".mjs");
  const role = process.argv[2] ?? "";
  const label = `${process.env.BENCH_E2E_PACKAGES ? "base-" : ""}${script}-${role}-${process.pid}`;
  process.on("exit", () => writeFileSync(`${dir}/${label}.json`, JSON.stringify({ label, records })));
}
