import { randomBytes } from "node:crypto";
import { guardedClient } from "@worker-toolbox/runtime/results";
import type pg from "pg";
import { pino } from "pino";

/** A ping that fails is the answer, not news. */
const quiet = pino({ level: "silent" });

export interface TestDatabase {
  /** The admin URL with this database's name. */
  readonly url: string;
  readonly name: string;
  /** Terminate its connections and drop it. Safe to call twice. */
  drop(): Promise<void>;
}

/** One connection and `select 1` to `url`: undefined when the server answered, else why not. */
export async function pingPostgres(url: string): Promise<Error | undefined> {
  const client = guardedClient({ connectionString: url, connectionTimeoutMillis: 2_000 }, quiet);
  try {
    await client.connect();
    await client.query("select 1");
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    await client.end().catch(() => {});
  }
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = guardedClient({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Create a fresh, empty database on the server `adminUrl` points at (a role with CREATEDB). */
export async function createTestDatabase(adminUrl: string, label = "test"): Promise<TestDatabase> {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .slice(0, 30);
  const name = `wt_${slug}_${randomBytes(4).toString("hex")}`;
  const ident = `"${name}"`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${ident}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      await withAdmin(adminUrl, async (client) => {
        // A pool a test forgot to end would otherwise make DROP DATABASE fail.
        await client.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
          [name],
        );
        await client.query(`DROP DATABASE IF EXISTS ${ident}`);
      });
      dropped = true;
    },
  };
}
