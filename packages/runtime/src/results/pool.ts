import { requireDatabaseUrl, type ToolboxConfig } from "@worker-toolbox/config";
import type pg from "pg";
import type { Logger } from "pino";
import { guardedPool } from "./poolErrors.js";

/**
 * The pool every part of the toolbox writes and reads the result backend with. Connection errors outside a
 * query (an idle client whose server restarted, a session an administrator terminated) are logged with
 * `logger` (stderr without one) and replaced by pg: they never crash the process (poolErrors.ts).
 */
export function createDatabasePool(
  config: ToolboxConfig,
  options: { max?: number; logger?: Logger } = {},
): pg.Pool {
  return guardedPool(
    {
      connectionString: requireDatabaseUrl(config, "This process"),
      max: options.max ?? config.database.poolSize,
      connectionTimeoutMillis: 10_000,
    },
    options.logger,
  );
}
