import pg from "pg";
import { type Logger, pino } from "pino";

/**
 * The one place that decides what a PostgreSQL connection's error outside a query does: it is logged, once,
 * and never crashes the process. pg emits `error` on a pool when one of its idle clients fails (the server
 * restarted, an administrator terminated the session, the database was dropped) and on a client that fails
 * between queries (a LISTEN connection, one checked out across awaits); an `error` event nobody listens to
 * is thrown by Node, so the process dies. Queries on a failed connection still reject on their own, and a
 * pool replaces the client it lost.
 *
 * A pool an application passes in (to a worker, a tracker, the dashboard, a result watcher) is the
 * application's: when it already listens for the pool's `error`, that listener reports idle clients and we
 * add none (no second line for the same failure); when it does not, ours does, so connections the toolbox
 * made the pool open cannot crash the process (what graphile-worker does with a pool handed to it; pg-boss
 * never takes one). A client checked out of a guarded pool — by the toolbox (LISTEN, a migration's lock, a
 * write check) or by the application — is reported while checked out: its holder only recovers, and may
 * describe what it was for (`describeUse`) so the one line says it.
 */
const guarded = new WeakSet<object>();

/** What a checked-out client was used for, added to the line its failure logs (`describeUse`). */
const uses = new WeakMap<object, Record<string, unknown>>();

/** Where a pool or client of a process that passed no logger (a CLI command) reports: stderr, warnings. */
let fallback: Logger | undefined;
const fallbackLogger = () => {
  fallback ??= pino({ level: "warn", base: { component: "database" } }, pino.destination(2));
  return fallback;
};

/**
 * Log (never throw) the errors of `pool`'s idle clients — unless the pool already has an `error` listener
 * of its owner's — and of its clients while checked out, whoever checked them out.
 */
export function guardPool<T extends pg.Pool>(pool: T, logger: Logger = fallbackLogger()): T {
  if (guarded.has(pool)) return pool;
  guarded.add(pool);
  if (pool.listenerCount("error") === 0)
    pool.on("error", (error) => logger.warn({ err: error.message }, "idle database connection failed"));
  const inUse = new WeakSet<pg.PoolClient>();
  const listening = new WeakSet<pg.PoolClient>();
  // 'acquire', not 'connect': a pool passed in may hold clients opened before we were given it.
  pool.on("acquire", (client) => {
    inUse.add(client);
    if (listening.has(client)) return;
    listening.add(client);
    // An idle client's error reaches the pool's listener; a checked-out one's only the client.
    client.on("error", (error) => {
      if (inUse.has(client))
        logger.warn({ err: error.message, ...uses.get(client) }, "database connection failed while in use");
    });
  });
  pool.on("release", (_error, client) => {
    inUse.delete(client);
    uses.delete(client);
  });
  return pool;
}

/**
 * Say what a checked-out client is for (e.g. `{ use: "dashboard live updates (LISTEN)", next: "reconnecting
 * in 1 s" }`): if its connection fails before it goes back to the pool, the guard's one line carries these
 * fields, and the holder logs nothing of its own. Forgotten when the client is released.
 */
export function describeUse(client: pg.PoolClient, fields: Record<string, unknown>): void {
  uses.set(client, fields);
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
