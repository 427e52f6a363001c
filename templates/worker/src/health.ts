import { createServer } from "node:http";
import type { Worker } from "@worker-toolbox/runtime";
import type { Logger } from "pino";

/**
 * `/healthz` answers 200 while the process is alive, draining included (liveness); `/readyz` answers 200
 * only while the worker consumes (readiness), so orchestrators stop counting on it during reconnects and
 * shutdown. Both answer with the worker's state as JSON.
 */
export async function startHealthServer(
  worker: Pick<Worker, "state" | "ready">,
  port: number,
  logger: Logger,
) {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    let ok: boolean;
    if (path === "/healthz") ok = worker.state !== "failed" && worker.state !== "stopped";
    else if (path === "/readyz") ok = worker.ready();
    else {
      response.writeHead(404).end();
      return;
    }
    response
      .writeHead(ok ? 200 : 503, { "content-type": "application/json" })
      .end(JSON.stringify({ ok, state: worker.state }));
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
