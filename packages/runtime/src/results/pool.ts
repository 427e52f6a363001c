import { requireDatabaseUrl, type ToolboxConfig } from "@worker-toolbox/config";
import pg from "pg";
import type { Logger } from "pino";

/**
 * The pool every part of the toolbox writes and reads the result backend with. Idle clients that fail
 * (the server restarted) are logged and replaced by pg; without the listener they would crash the process.
 */
export function createDatabasePool(
  config: ToolboxConfig,
  options: { max?: number; logger?: Logger } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: requireDatabaseUrl(config, "This process"),
    max: options.max ?? config.database.poolSize,
    connectionTimeoutMillis: 10_000,
  });
  pool.on("error", (error) =>
    options.logger?.warn({ err: error.message }, "idle database connection failed"),
  );
  return pool;
}
