import {
  brokerUrls,
  type ErrorCode,
  isToolboxError,
  maskUrl,
  requireDatabaseUrl,
  type ToolboxConfig,
} from "@worker-toolbox/config";
import amqp from "amqplib";
import { classifyBrokerError } from "../broker/classifyError.js";
import { brokerSocketOptions, dialUrl } from "../broker/nodes.js";
import { brokerVersion } from "../broker/throwawayChannel.js";
import { translateDbError } from "../results/dbErrors.js";
import { guardedPool } from "../results/poolErrors.js";

/**
 * Try the configured identities for real: log in to every broker node with the broker URL's user and
 * vhost, and to the database with the database URL's role. Used by `worker-toolbox config check` so a
 * wrong password or an unreachable server fails the check with its typed code, instead of a config that
 * merely parses.
 */
export interface ConnectionCheck {
  /** `broker <masked url>` or `database <masked url>`. */
  target: string;
  ok: boolean;
  /** What answered (`RabbitMQ 3.10.8`, `PostgreSQL 15.4 as worker`), or why it failed. */
  detail: string;
  /** The typed error code of a failure. */
  code?: ErrorCode;
  hint?: string;
}

export async function checkConnections(
  config: ToolboxConfig,
  options: { database: boolean; name?: string },
): Promise<ConnectionCheck[]> {
  const name = options.name ?? "worker-toolbox config check";
  const checks = brokerUrls(config).map((url) => checkBrokerNode(config, url, name));
  if (options.database) checks.push(checkDatabase(config));
  return Promise.all(checks);
}

async function checkBrokerNode(config: ToolboxConfig, url: string, name: string): Promise<ConnectionCheck> {
  const target = `broker ${maskUrl(url)}`;
  try {
    const connection = await amqp.connect(dialUrl(config, url), brokerSocketOptions(config, name, url));
    connection.on("error", () => {});
    const version = brokerVersion(connection);
    await connection.close().catch(() => {});
    return { target, ok: true, detail: `RabbitMQ ${version || "(version unknown)"}: login accepted` };
  } catch (error) {
    const classified = classifyBrokerError(error, url);
    return {
      target,
      ok: false,
      code: classified.code,
      detail: classified.message.split("\n")[0] ?? "",
      ...(classified.hint ? { hint: classified.hint } : {}),
    };
  }
}

async function checkDatabase(config: ToolboxConfig): Promise<ConnectionCheck> {
  let url: string;
  try {
    url = requireDatabaseUrl(config, "The database check");
  } catch (error) {
    return { target: "database", ok: false, code: "CONFIG_INVALID", detail: (error as Error).message };
  }
  const target = `database ${maskUrl(url)}`;
  const pool = guardedPool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: config.broker.connectTimeoutMs,
  });
  try {
    const { rows } = await pool.query<{ version: string; role: string }>(
      "SELECT current_setting('server_version') AS version, current_user AS role",
    );
    return { target, ok: true, detail: `PostgreSQL ${rows[0]?.version} as ${rows[0]?.role}: login accepted` };
  } catch (error) {
    const translated = translateDbError(error, pool, config.database.schema, "log in");
    const typed = isToolboxError(translated) ? translated : undefined;
    return {
      target,
      ok: false,
      code: typed?.code ?? "DATABASE_UNAVAILABLE",
      detail: maskUrl(((translated as Error).message ?? String(error)).split("\n")[0] ?? ""),
      ...(typed?.hint ? { hint: typed.hint } : {}),
    };
  } finally {
    await pool.end().catch(() => {});
  }
}
