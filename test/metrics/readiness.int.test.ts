import { maskUrl } from "@worker-toolbox/config";
import { type PostgresServer, startPostgres } from "@worker-toolbox/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HealthServer, startHealthServer } from "../../packages/runtime/src/health/index.js";
import { createWorker, type Worker } from "../../packages/runtime/src/worker/index.js";
import { implementations } from "../fixtures/workers/tasks.js";
import { testPool } from "../support/database.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "../worker/harness.js";
import { get, getJson } from "./scrape.js";

let h: Harness;

beforeAll(async () => {
  h = await createHarness("readiness", testServers());
});

afterAll(async () => {
  await h?.close();
});

describe("/healthz and /readyz", () => {
  it("/readyz is 503 before start, 200 while consuming, 503 after close; /healthz stays 200", async () => {
    const worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
    const server = await startHealthServer({ worker, port: 0, host: "127.0.0.1", logger: testLogger });
    try {
      const before = await getJson(server.port, "/readyz");
      expect(before).toEqual({
        status: 503,
        body: { ok: false, state: "starting", reason: "consumer not active (starting)" },
      });
      expect(await getJson(server.port, "/healthz")).toEqual({
        status: 200,
        body: { ok: true, state: "starting" },
      });

      await worker.start();
      expect(await getJson(server.port, "/readyz")).toEqual({
        status: 200,
        body: { ok: true, state: "ready", broker: maskUrl(h.config.broker.url), database: "ok" },
      });
      // /metrics serves the worker's own registry by default.
      expect((await get(server.port, "/metrics")).body).toMatch(
        /^worker_toolbox_consumer_active\{service="wtest"\} 1$/m,
      );

      await worker.close({ graceMs: 1_000 });
      const after = await getJson(server.port, "/readyz");
      expect(after.status).toBe(503);
      expect(after.body).toMatchObject({ ok: false, state: "stopped" });
      expect((await getJson(server.port, "/healthz")).status).toBe(200);
      expect((await get(server.port, "/readyz?verbose=1")).status).toBe(503);
    } finally {
      await worker.close();
      await server.close();
    }
  });

  it("answers 405 to other methods and 404 to other paths", async () => {
    const worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
    const server = await startHealthServer({ worker, port: 0, host: "127.0.0.1" });
    try {
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: "POST" })).status).toBe(405);
      expect((await get(server.port, "/")).status).toBe(404);
    } finally {
      await server.close();
      await worker.close();
    }
  });

  it("a port in use is a clear error", async () => {
    const worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
    const first = await startHealthServer({ worker, port: 0, host: "127.0.0.1" });
    try {
      await expect(startHealthServer({ worker, port: first.port, host: "127.0.0.1" })).rejects.toMatchObject({
        code: "CONFIG_INVALID",
        message: expect.stringMatching(/EADDRINUSE[\s\S]*WT_WORKER_HEALTH_PORT/),
      });
    } finally {
      await first.close();
      await worker.close();
    }
  });

  describe("with the database down", () => {
    // Its own PostgreSQL, so stopping it cannot disturb the shared server other test files use.
    let postgres: PostgresServer;
    let pool: pg.Pool;
    let worker: Worker;
    let server: HealthServer;

    beforeAll(async () => {
      postgres = await startPostgres();
      pool = testPool({ connectionString: postgres.url, max: 2, connectionTimeoutMillis: 2_000 });
      pool.on("error", () => undefined);
      worker = createWorker({ config: h.config, tasks: implementations, logger: testLogger });
      await worker.start();
      server = await startHealthServer({
        worker,
        port: 0,
        host: "127.0.0.1",
        database: pool,
        timeoutMs: 500,
        cacheMs: 200,
        logger: testLogger,
      });
    }, 120_000);

    afterAll(async () => {
      await server?.close();
      await worker?.close({ graceMs: 1_000 });
      await pool?.end().catch(() => undefined);
      await postgres?.dispose();
    });

    it("turns 503 with the reason when the database stops answering, and 200 again when it is back", async () => {
      expect((await getJson(server.port, "/readyz")).status).toBe(200);
      await postgres.stop();
      await new Promise((resolve) => setTimeout(resolve, 250)); // let the cached answer expire
      const down = await getJson(server.port, "/readyz");
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ ok: false, state: "ready", database: "down" });
      expect(down.body.reason).toMatch(/^database: DATABASE_UNAVAILABLE: The database did not answer/);
      // Liveness is not readiness: the process is fine.
      expect((await getJson(server.port, "/healthz")).status).toBe(200);

      await postgres.start();
      const until = Date.now() + 15_000;
      let status = 503;
      while (status !== 200 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        status = (await getJson(server.port, "/readyz")).status;
      }
      expect(status).toBe(200);
    });

    it("answers from the cache: many probes, one query", async () => {
      let queries = 0;
      const counting = {
        query: (text: string) => {
          queries += 1;
          return pool.query(text);
        },
      };
      const cached = await startHealthServer({
        worker,
        port: 0,
        host: "127.0.0.1",
        database: counting,
        cacheMs: 60_000,
      });
      try {
        const answers = await Promise.all(Array.from({ length: 20 }, () => getJson(cached.port, "/readyz")));
        expect(answers.every((answer) => answer.status === 200)).toBe(true);
        expect(queries).toBe(1);
      } finally {
        await cached.close();
      }
    });
  });
});
