import { guardedClient, guardedPool } from "@worker-toolbox/runtime/results";
import type pg from "pg";
import { pino } from "pino";

/**
 * Every pg pool and client a test opens: their connections' errors outside a query (a test database
 * dropped with its sessions, a server stopped on purpose) are logged (WT_TEST_LOG=warn shows them), never
 * thrown — an unhandled `error` event would fail the whole run. Queries on such a connection still reject.
 * test/unit/databaseGuards.test.ts checks that no test opens one any other way.
 */
const logger = pino({ level: process.env.WT_TEST_LOG ?? "silent" }).child({ component: "test-database" });

export const testPool = (config: pg.PoolConfig): pg.Pool => guardedPool(config, logger);

export const testClient = (config: string | pg.ClientConfig): pg.Client => guardedClient(config, logger);
