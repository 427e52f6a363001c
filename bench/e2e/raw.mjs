/**
 * The hand-written amqplib + pg pipeline on the toolbox's topology (the same exchange, quorum service queue
 * and platform copy; the same celery_taskmeta row): `node bench/e2e/raw.mjs producer|single|batched`.
 *   producer  a ConfirmChannel publishing a Celery v2 body with the headers the row needs (id, task,
 *             retries, root_id, parent_id), persistent, waiting for confirms every 1,000 messages and for
 *             'drain' when amqplib's buffer is full; a round trip publishes one task and waits for its
 *             confirm and for the result trigger's NOTIFY (one long-lived LISTEN connection), then reads
 *             the row, as waitForResult does;
 *   single, batched   the consumers of bench/rawPipeline.mjs.
 * Every socket has TCP_NODELAY, as the toolbox's do.
 */
import { randomUUID } from "node:crypto";
import amqp from "amqplib";
import pg from "pg";
import { failOnPgError } from "../pgErrors.mjs";
import { startRawConsumer } from "../rawPipeline.mjs";
import { payload, run, serveProducer, serveWorker, TASK } from "./common.mjs";

const role = process.argv[2];
const { config } = run;
const CONFIRM_EVERY = 1_000;

if (role === "producer") {
  const connection = await amqp.connect(config.broker.url, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  const exchange = `${config.environment.prefix}.tasks`;
  const publish = (n, confirmed) => {
    const id = randomUUID();
    const body = JSON.stringify([
      [n, payload],
      {},
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
    const properties = {
      contentType: "application/json",
      contentEncoding: "utf-8",
      correlationId: id,
      persistent: true,
      headers: { lang: "js", task: TASK, id, root_id: id, parent_id: null, retries: 0 },
    };
    return { id, writable: channel.publish(exchange, TASK, Buffer.from(body), properties, confirmed) };
  };

  const listener = failOnPgError(new pg.Client({ connectionString: config.database.url }), "LISTEN client");
  await listener.connect();
  const arrived = new Map();
  listener.on("notification", (note) => {
    const { task_id: id } = JSON.parse(note.payload ?? "{}");
    arrived.get(id)?.();
  });
  await listener.query("LISTEN worker_toolbox_result");
  const reader = failOnPgError(new pg.Client({ connectionString: config.database.url }), "reader");
  await reader.connect();

  serveProducer({
    send: async (from, to) => {
      for (let n = from; n < to; n++) {
        if (!publish(n).writable) await new Promise((resolve) => channel.once("drain", resolve));
        if ((n - from) % CONFIRM_EVERY === CONFIRM_EVERY - 1) await channel.waitForConfirms();
      }
      await channel.waitForConfirms();
    },
    roundTrip: async (n) => {
      let id;
      const confirmed = new Promise((resolve, reject) => {
        id = publish(n, (error) => (error ? reject(error) : resolve())).id;
      });
      const notified = new Promise((resolve) => arrived.set(id, resolve));
      await Promise.all([confirmed, notified]);
      arrived.delete(id);
      const { rows } = await reader.query(
        "SELECT status, result_json FROM celery_taskmeta WHERE task_id = $1",
        [id],
      );
      if (rows[0]?.status !== "SUCCESS") throw new Error(`task ${id}: ${JSON.stringify(rows[0])}`);
    },
    close: async () => {
      await connection.close();
      await listener.end();
      await reader.end();
    },
  });
} else {
  let done = 0;
  let progress = () => {};
  const consumer = await startRawConsumer(config, role, (n) => {
    done += n;
    progress(done);
  });
  progress = serveWorker({ close: () => consumer.stop() });
}
