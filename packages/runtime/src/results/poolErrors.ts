import pg from "pg";
import { type Logger, pino } from "pino";

/**
 * The one place that decides what a PostgreSQL connection's error outside a query does: it is logged, and
 * never crashes the process. pg emits `error` on a pool when one of its idle clients fails (the server
 * restarted, an administrator terminated the session, the database was dropped) and on a client that fails
 * between queries (a LISTEN connection, one checked out across awaits); an `error` event nobody listens to
 * is thrown by Node, so the process dies. Queries on a failed connection still reject on their own, and a
 * pool replaces the client it lost.
 */
const guarded = new WeakSet<object>();

/** Where a pool or client of a process that passed no logger (a CLI command) reports: stderr, warnings. */
let fallback: Logger | undefined;
const fallbackLogger = () => {
  fallback ??= pino({ level: "warn", base: { component: "database" } }, pino.destination(2));
  return fallback;
};

/** Log (never throw) the errors of `pool`'s idle clients and of its clients while checked out. */
export function guardPool<T extends pg.Pool>(pool: T, logger: Logger = fallbackLogger()): T {
  if (guarded.has(pool)) return pool;
  guarded.add(pool);
  const inUse = new WeakSet<pg.PoolClient>();
  pool.on("error", (error) => logger.warn({ err: error.message }, "idle database connection failed"));
  pool.on("acquire", (client) => inUse.add(client));
  pool.on("release", (_error, client) => inUse.delete(client));
  // An idle client's error reaches the pool's listener above; a checked-out one's only the client.
  pool.on("connect", (client) =>
    client.on("error", (error) => {
      if (inUse.has(client)) logger.warn({ err: error.message }, "database connection failed while in use");
    }),
  );
  return pool;
}

/** Log (never throw) a client's error outside a query; its next query rejects. */
export function guardClient<T extends pg.Client>(client: T, logger: Logger = fallbackLogger()): T {
  if (guarded.has(client)) return client;
  guarded.add(client);
  client.on("error", (error) => logger.warn({ err: error.message }, "database connection failed"));
  return client;
}

/** A pool whose connection errors are logged, never thrown: for every pool the toolbox and its tests open. */
export function guardedPool(config: pg.PoolConfig, logger?: Logger): pg.Pool {
  return guardPool(new pg.Pool(config), logger);
}

/** A client whose connection errors are logged, never thrown. */
export function guardedClient(config: string | pg.ClientConfig, logger?: Logger): pg.Client {
  return guardClient(new pg.Client(config), logger);
}
