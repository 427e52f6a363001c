import { z } from "zod";
import { doc, positiveInt } from "./doc.js";
import { postgresUrl } from "./urls.js";

/** `database.*`: the PostgreSQL result backend and how this process writes to it. */
export const databaseSchema = z.strictObject({
  url: doc(
    postgresUrl.optional(),
    "PostgreSQL URL of the result backend. Workers should use the least-privilege worker role " +
      "(`worker-toolbox db grants`). Workers, the tracker and the command-line tools need it; a " +
      'producer-only process does not (`loadConfig({ role: "producer" })`).',
    "postgres://worker:secret@db.internal:5432/tasks?sslmode=verify-full",
  ),
  allowPlaintext: doc(
    z.boolean().default(false),
    "In production mode a database URL to a host other than this machine (loopback, or a Unix socket) " +
      "must ask for TLS (`sslmode=verify-full`, with `sslrootcert=<file>` for a private CA; any sslmode but " +
      "disable, or ssl=true), or the config is refused. Set true only when the network itself encrypts the " +
      "connection (a service mesh, a VPN); `worker-toolbox doctor` keeps warning about it. No effect outside " +
      "production mode.",
    false,
  ),
  schema: doc(
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a plain lower-case SQL identifier")
      .default("public"),
    "Schema holding the result and tracking tables.",
    "public",
  ),
  poolSize: doc(positiveInt().max(100).default(5), "Connections per process in the pool.", 5),
  retentionDays: doc(
    z.number().int().min(0).max(36_500).default(30),
    "How many days finished results and their tracking rows are kept. `worker-toolbox db prune` deletes " +
      "older ones (its --older-than defaults to this) and `worker-toolbox doctor` warns when older ones are " +
      "still there, i.e. nothing runs the prune. 0 keeps them forever (no warning).",
    90,
  ),
  preparedStatements: doc(
    z.boolean().default(true),
    "Write results with a named prepared statement (planned once per connection). Set false behind a " +
      "transaction-pooling PgBouncer older than 1.21 (or without max_prepared_statements).",
    false,
  ),
  resultExtended: doc(
    z.boolean().default(true),
    "Store each task's args and kwargs in its result row too (Celery's result_extended; `celery-config` " +
      "prints it, and Python workers then also write name, worker, retries and queue). On by default, so " +
      "Python's AsyncResult.args/.kwargs find them and Python workers' rows keep the name the dashboard " +
      "groups by. Off stores the arguments once, in the tracking row, where the dashboard and getTask read " +
      "them: one copy of every payload less to write (docs/results.md).",
    false,
  ),
});
