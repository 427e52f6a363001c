/**
 * The hand-written amqplib + pg consumers the benchmarks compare the toolbox against (bench/workerConsumer.mjs
 * and bench/e2e/raw.mjs). They write the same celery_taskmeta columns as the toolbox: pickled result,
 * result_json, args/kwargs as JSON bytes, name, worker, retries, queue, parent/root id, date_done/updated_at.
 * They use ON CONFLICT DO NOTHING where the toolbox's upsert keeps its state-precedence WHERE (for fresh task
 * ids both insert), and parse the body with JSON.parse and read the headers directly.
 *
 *   single   per message: one INSERT of the full row, then ack(msg);
 *   batched  up to 100 rows per multi-row INSERT (one statement = one transaction), then one ack(last, allUpTo)
 *            after it committed; one batch in flight, written as soon as the previous one committed, or after
 *            2 ms when the database was idle.
 */
import amqp from "amqplib";
import pg from "pg";
import { failOnPgError } from "./pgErrors.mjs";

const ROW = 10;
const BATCH = 100;

/**
 * Consume the service queue of `config` (the bench's config input) with `mode`; `onDone(n)` runs in the turn n
 * more messages were acked. Resolves once consuming; `stop()` stops consuming, lets the batch being written
 * commit and ack, and closes the connections (nothing is acked after they closed).
 */
export async function startRawConsumer(config, mode, onDone) {
  const workerName = `${config.service}@bench:${process.pid}`;
  const queue = `${config.environment.prefix}.${config.service}`;
  const pool = failOnPgError(
    new pg.Pool({ connectionString: config.database.url, max: config.database.poolSize }),
    "raw consumer pool",
  );
  const connection = await amqp.connect(config.broker.url, { noDelay: true });
  const channel = await connection.createChannel();
  await channel.prefetch(config.worker.prefetch);
  const insert = (rows) => insertStatement(rows, workerName);
  const execute = (message) => rowOf(message, queue);
  let stopping = false;
  let stopConsumer;
  if (mode === "single") {
    const writes = new Set();
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (!message) return;
      const write = pool.query(insert([execute(message)])).then(() => {
        writes.delete(write);
        channel.ack(message);
        onDone(1);
      });
      writes.add(write);
    });
    stopConsumer = async () => {
      await channel.cancel(consumerTag);
      await Promise.allSettled([...writes]);
    };
  } else {
    const batch = [];
    let writing;
    let timer;
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (writing || batch.length === 0) return;
      const taken = batch.splice(0, BATCH);
      writing = pool.query(insert(taken.map(execute))).then(() => {
        channel.ack(taken.at(-1), true);
        onDone(taken.length);
        writing = undefined;
        if (batch.length > 0 && !stopping) flush(); // what gathered meanwhile goes now
      });
    };
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (!message) return;
      batch.push(message);
      if (batch.length >= BATCH) flush();
      else timer ??= setTimeout(flush, 2);
    });
    stopConsumer = async () => {
      await channel.cancel(consumerTag);
      clearTimeout(timer);
      await writing;
      // What was delivered and not written is returned when the connection closes (never acked).
    };
  }
  return {
    stop: async () => {
      stopping = true;
      await stopConsumer();
      await connection.close();
      await pool.end();
    },
  };
}

/** A multi-row INSERT of `rows` (each the ROW values of rowOf, in column order). */
export function insertStatement(rows, workerName) {
  const workerParam = `$${rows.length * ROW + 1}`;
  const tuples = rows.map((_, i) => {
    const $ = (k) => `$${i * ROW + k}`;
    return `(nextval('task_id_sequence'), ${$(1)}, 'SUCCESS', ${$(2)}, now() AT TIME ZONE 'UTC', ${$(3)}, ${$(4)},
      ${$(5)}, ${workerParam}, ${$(6)}, ${$(7)}, ${$(8)}::jsonb, now(), ${$(9)}, ${$(10)})`;
  });
  return {
    text: `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, name, args, kwargs, worker,
      retries, queue, result_json, updated_at, parent_id, root_id)
      VALUES ${tuples.join(", ")} ON CONFLICT (task_id) DO NOTHING`,
    values: [...rows.flat(), workerName],
  };
}

/** Decode, run the no-op (the result is the first argument), encode the row's values in column order. */
export function rowOf(message, queue) {
  const [args, kwargs] = JSON.parse(message.content.toString());
  const headers = message.properties.headers;
  const result = args[0];
  return [
    String(headers.id),
    pickleInt(result),
    String(headers.task),
    Buffer.from(JSON.stringify(args)),
    Buffer.from(JSON.stringify(kwargs)),
    Number(headers.retries ?? 0),
    queue,
    JSON.stringify(result),
    headers.parent_id ?? null,
    headers.root_id ?? null,
  ];
}

/** Python pickle protocol 2 of a small non-negative int: PROTO 2, BININT1/BININT2/BININT, STOP. */
export function pickleInt(n) {
  if (n < 0x100) return Buffer.from([0x80, 2, 0x4b, n, 0x2e]);
  if (n < 0x10000) return Buffer.from([0x80, 2, 0x4d, n & 0xff, n >> 8, 0x2e]);
  const b = Buffer.from([0x80, 2, 0x4a, 0, 0, 0, 0, 0x2e]);
  b.writeInt32LE(n, 3);
  return b;
}
