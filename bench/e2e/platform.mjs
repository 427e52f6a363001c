/**
 * The platform copy's reader, for comparing kinds of platform queue with the tracker reading each:
 *   node bench/e2e/platform.mjs quorum|classic|lazy|stream     (BENCH_E2E: see common.mjs)
 * What the tracker does, with plain amqplib so it can read every kind (the tracker itself declares and reads
 * a quorum or classic queue only): prefetch tracker.prefetch (2,000), each copy decoded into its tracking row
 * (the runtime's decodeTaskMessage and trackingInput, as the tracker), rows upserted in batches of tracker.batchSize (500) or
 * every 20 ms (upsertTracking, one connection), then the batch acknowledged with one `ack(last, allUpTo)`
 * after its COMMIT. A stream is read from its first offset (`x-stream-offset`), acks returning credit, as
 * RabbitMQ streams require over AMQP 0-9-1. Reports `warmed`/`drained` as the worker does (copies stored).
 */
import { entityNames, parseConfig } from "@worker-toolbox/config";
import { decodeTaskMessage } from "@worker-toolbox/runtime/protocol";
import { trackingInput, upsertTracking } from "@worker-toolbox/runtime/results";
import amqp from "amqplib";
import pg from "pg";
import { failOnPgError } from "../pgErrors.mjs";
import { run, serveWorker } from "./common.mjs";

const copy = process.argv[2] ?? "quorum";
const config = parseConfig(run.config);
const names = entityNames(config.environment.prefix);
const pool = failOnPgError(new pg.Pool({ connectionString: config.database.url, max: 1 }), "platform pool");
const connection = await amqp.connect(config.broker.url, { noDelay: true });
const channel = await connection.createChannel();
await channel.prefetch(config.tracker.prefetch);

let stored = 0;
let batch = [];
let timer;
let writing = Promise.resolve();
let closing = false;
const progress = serveWorker({
  close: async () => {
    closing = true; // no batch starts after this (its ack would go to a closed channel)
    clearTimeout(timer);
    await writing;
    await connection.close();
    await pool.end();
  },
});

function flush() {
  clearTimeout(timer);
  timer = undefined;
  const messages = batch;
  batch = [];
  if (messages.length === 0 || closing) return;
  writing = writing.then(async () => {
    const rows = messages.map((m) =>
      trackingInput(decodeTaskMessage(m.content, m.properties), names.serviceQueue),
    );
    await upsertTracking(pool, "public", rows);
    channel.ack(messages.at(-1), true);
    stored += messages.length;
    progress(stored);
  });
}

await channel.consume(
  names.platformQueue,
  (message) => {
    if (!message) return;
    batch.push(message);
    if (batch.length >= config.tracker.batchSize) flush();
    else timer ??= setTimeout(flush, 20);
  },
  { noAck: false, arguments: copy === "stream" ? { "x-stream-offset": "first" } : {} },
);
