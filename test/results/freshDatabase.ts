import { createTestDatabase, type TestDatabase } from "@worker-toolbox/testing";
import type pg from "pg";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";

export interface FreshDatabase {
  db: TestDatabase;
  pool: pg.Pool;
  /** End the pool and drop the database. */
  close(): Promise<void>;
}

/** A new, empty database on the integration server, for one test file. */
export async function freshDatabase(
  label: string,
  adminUrl = testServers().databaseUrl,
): Promise<FreshDatabase> {
  const db = await createTestDatabase(adminUrl, label);
  const pool = testPool({ connectionString: db.url, max: 10 });
  return {
    db,
    pool,
    async close() {
      await pool.end();
      await db.drop();
    },
  };
}
