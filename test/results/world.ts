import { createResultStore, migrate, type ResultStore } from "@worker-toolbox/runtime/results";
import { createTestDatabase, type TestDatabase } from "@worker-toolbox/testing";
import type pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { testClient, testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";

/**
 * The world a results integration test file runs in: a fresh database of its own on the test server (or on
 * a server the file brings), the result tables migrated into `schema` when one is named, an admin pool, a
 * result store when a worker name is given, pools of the file's own (as another role, through PgBouncer)
 * that the world ends, and the roles the file created, dropped. `resultsWorld()` registers the beforeAll
 * that builds it and the afterAll that removes it; call it at the top of the file or inside the `describe`
 * whose tests use it. A file's own afterAll runs first (vitest runs after-hooks in reverse order).
 */
export interface ResultsWorldOptions {
  /** Migrate the result tables into this schema (none: an empty database). */
  schema?: string;
  /** A result store on `pool` and `schema` writing as this worker. */
  workerName?: string;
  /** Where to create the database instead of the test server (e.g. one with password auth), and its end. */
  server?: () => Promise<{ url: string; stop?: () => Promise<void> }>;
  /** Roles the file creates: after the tests, DROP OWNED BY in the database, then DROP ROLE on the server. */
  roles?: () => readonly string[];
}

export interface ResultsWorld {
  readonly db: TestDatabase;
  /** The database owner's pool (10 connections). */
  readonly pool: pg.Pool;
  readonly store: ResultStore;
  /** A pool of the file's own (default: on the world's database, 2 connections), ended after the file. */
  newPool(options?: { url?: string; max?: number }): pg.Pool;
  /** The world's database URL as another role. */
  urlAs(role: string, password: string): string;
}

export function resultsWorld(label: string, options: ResultsWorldOptions = {}): ResultsWorld {
  let server: { url: string; stop?: () => Promise<void> } | undefined;
  let db: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  let store: ResultStore | undefined;
  const pools: pg.Pool[] = [];
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`resultsWorld("${label}") has no ${what} (yet)`);
    return value;
  };

  beforeAll(async () => {
    server = options.server ? await options.server() : { url: testServers().databaseUrl };
    db = await createTestDatabase(server.url, label);
    pool = testPool({ connectionString: db.url, max: 10 });
    if (options.schema !== undefined) await migrate(pool, { schema: options.schema });
    if (options.workerName !== undefined)
      store = createResultStore({ pool, schema: options.schema!, workerName: options.workerName });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    const roles = db ? (options.roles?.() ?? []) : [];
    for (const role of roles) await pool?.query(`DROP OWNED BY "${role}"`).catch(() => {});
    await pool?.end();
    await db?.drop();
    if (roles.length > 0 && server) await dropRoles(server.url, roles);
    await server?.stop?.();
  });

  return {
    get db() {
      return need(db, "database");
    },
    get pool() {
      return need(pool, "pool");
    },
    get store() {
      return need(store, "result store: pass workerName");
    },
    newPool({ url, max = 2 } = {}) {
      const own = testPool({ connectionString: url ?? need(db, "database").url, max });
      pools.push(own);
      return own;
    },
    urlAs(role, password) {
      const url = new URL(need(db, "database").url);
      url.username = role;
      url.password = password;
      return url.toString();
    },
  };
}

async function dropRoles(serverUrl: string, roles: readonly string[]): Promise<void> {
  const admin = testClient({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (const role of roles) await admin.query(`DROP ROLE IF EXISTS "${role}"`);
    const { rows } = await admin.query("SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", [roles]);
    if (rows.length > 0) throw new Error(`roles left behind: ${rows.map((row) => row.rolname).join(", ")}`);
  } finally {
    await admin.end();
  }
}
