import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ToolboxError } from "@worker-toolbox/config";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { DatabaseProbe, type DatabaseProbeOptions, pingDatabase, type Queryable } from "./databaseProbe.js";

/**
 * What the server reads from the process it reports on (a `Worker` has all of it). Defined here, not taken
 * from the worker, so health/ depends on nothing it serves.
 */
export interface HealthTarget {
  /** `failed` makes /healthz answer 503. */
  readonly state: string;
  /** True while the consumer is active. */
  ready(): boolean;
  readonly metrics?: Registry;
  pingDatabase?(timeoutMs?: number): Promise<void>;
  /** The broker node in use (password masked), shown in every answer: on a cluster, which node this is on. */
  readonly brokerNode?: string | undefined;
}

export interface HealthServerOptions extends DatabaseProbeOptions {
  worker: HealthTarget;
  /** 0 picks a free port (read it from the returned `port`). */
  port: number;
  /**
   * Interface to listen on (a worker passes `worker.healthHost`); default all (`::` / `0.0.0.0`), since
   * probes and scrapers come from outside.
   */
  host?: string | undefined;
  /** Served on /metrics; default the worker's own registry. */
  registry?: Registry;
  /** Probed by /readyz instead of the worker's pool. Without either, /readyz checks the consumer only. */
  database?: Queryable;
  logger?: Logger;
}

export interface HealthServer {
  readonly port: number;
  readonly host: string;
  /** Stop listening; a scrape in progress may finish, idle keep-alive connections are closed. */
  close(): Promise<void>;
}

/**
 * The HTTP endpoint of a worker process:
 *
 * - `GET /healthz` (liveness): 200 while the process is up, draining included; 503 once the worker
 *   failed for good (bad credentials, topology drift), where only a restart can help.
 * - `GET /readyz` (readiness): 200 only while the consumer is active and the database answered
 *   `select 1` within `timeoutMs` (answers reused for `cacheMs`); otherwise 503 with the reason.
 * - `GET /metrics`: the Prometheus text format of the registry.
 *
 * Every answer but /metrics is a small JSON object with `ok`, the worker `state` and, on a cluster
 * especially useful, the `broker` node in use (password masked).
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { worker, logger } = options;
  const registry = options.registry ?? worker.metrics;
  const ping: ((timeoutMs: number) => Promise<unknown>) | undefined = options.database
    ? (timeoutMs) => pingDatabase(options.database as Queryable, timeoutMs)
    : worker.pingDatabase?.bind(worker);
  const probe = ping && new DatabaseProbe(ping, options);

  const routes = healthRoutes(worker, registry, probe);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?", 1)[0] ?? "/";
    const route = routes[path];
    if (!route) {
      response
        .writeHead(404, { "content-type": "text/plain" })
        .end("not found: try /healthz, /readyz or /metrics\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    Promise.resolve()
      .then(() => route(response))
      .catch((error: unknown) => {
        logger?.warn({ err: (error as Error).message, path }, "health endpoint failed");
        if (!response.headersSent) json(response, 500, { ok: false, reason: (error as Error).message });
        else response.destroy();
      });
  });
  // A scraper's keep-alive connection must not hold close() open.
  server.keepAliveTimeout = 5_000;

  await listen(server, options);
  server.on("error", (error) => logger?.warn({ err: error.message }, "health endpoint error"));
  const address = server.address() as AddressInfo;
  logger?.info({ port: address.port, host: address.address }, "health endpoint listening");

  let closed: Promise<void> | undefined;
  return {
    port: address.port,
    host: address.address,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // A scrape still running after a second is cut.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      return closed;
    },
  };
}

function json(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  response
    .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
    .end(`${JSON.stringify(body)}\n`);
}

type Route = (response: ServerResponse) => Promise<void> | void;

/** /healthz, /readyz and /metrics. */
function healthRoutes(
  worker: HealthTarget,
  registry: Registry | undefined,
  probe: DatabaseProbe | undefined,
): Record<string, Route> {
  return {
    "/healthz": (response) => {
      const ok = worker.state !== "failed";
      json(response, ok ? 200 : 503, { ok, state: worker.state, broker: worker.brokerNode });
    },
    "/readyz": async (response) => {
      if (!worker.ready()) {
        json(response, 503, {
          ok: false,
          state: worker.state,
          broker: worker.brokerNode,
          reason: `consumer not active (${worker.state})`,
        });
        return;
      }
      if (!probe) {
        json(response, 200, { ok: true, state: worker.state, broker: worker.brokerNode });
        return;
      }
      const database = await probe.check();
      // The worker may have stopped while the database answered.
      const ok = database.ok && worker.ready();
      const reason = !database.ok ? `database: ${database.reason}` : ok ? undefined : "consumer not active";
      json(response, ok ? 200 : 503, {
        ok,
        state: worker.state,
        broker: worker.brokerNode,
        database: database.ok ? "ok" : "down",
        reason,
      });
    },
    "/metrics": async (response) => {
      if (!registry) {
        response.writeHead(404, { "content-type": "text/plain" }).end("no metrics registry\n");
        return;
      }
      const text = await registry.metrics();
      response.writeHead(200, { "content-type": registry.contentType }).end(text);
    },
  };
}

/** Listen on the configured port; a port that cannot be opened is a CONFIG_INVALID naming the setting. */
function listen(server: Server, options: HealthServerOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new ToolboxError(
          "CONFIG_INVALID",
          `The health endpoint cannot listen on ${options.host ?? "*"}:${options.port}: ${error.code ?? error.message}.`,
          {
            cause: error,
            hint:
              error.code === "EADDRINUSE"
                ? "another process uses that port: set worker.healthPort (WT_WORKER_HEALTH_PORT) to a free port, or 0 to pick one"
                : "set worker.healthPort (WT_WORKER_HEALTH_PORT) to a port this process may open",
          },
        ),
      );
    };
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
