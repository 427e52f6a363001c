import { createServer } from "node:http";
import type { Logger } from "pino";

/** What the health endpoint needs from the worker. */
export interface HealthSource {
  readonly state: string;
  ready(): boolean | Promise<boolean>;
}

/**
 * `/healthz` answers 200 while the process is up and not shutting down (liveness); `/readyz` answers 200
 * only while the worker is connected and consuming (readiness), so load balancers and orchestrators
 * stop counting on it during reconnects and shutdown.
 */
export async function startHealthServer(worker: HealthSource, port: number, logger: Logger) {
  const server = createServer((request, response) => {
    void (async () => {
      const url = request.url ?? "/";
      let ok: boolean;
      if (url === "/healthz") ok = worker.state !== "closing" && worker.state !== "closed";
      else if (url === "/readyz") ok = await worker.ready();
      else {
        response.writeHead(404).end();
        return;
      }
      response
        .writeHead(ok ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ ok, state: worker.state }));
    })().catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, resolve);
  });
  const address = server.address();
  logger.info(
    { port: typeof address === "object" && address ? address.port : port },
    "health endpoint listening",
  );
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
