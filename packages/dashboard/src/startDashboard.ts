import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { assertSafeBind } from "./auth.js";
import { createDashboard, type Dashboard, type DashboardOptions } from "./createDashboard.js";

export interface StartDashboardOptions extends DashboardOptions {
  /** Default `config.dashboard.host`. */
  host?: string;
  /** Default `config.dashboard.port` (0: a free port). */
  port?: number;
}

export interface RunningDashboard {
  dashboard: Dashboard;
  /** `http://127.0.0.1:8089/` */
  url: string;
  close(): Promise<void>;
}

/**
 * Serve the dashboard on its own HTTP server (`worker-toolbox dashboard`). Refuses a non-loopback address
 * unless a password is configured; resolves once it listens.
 */
export async function startDashboard(options: StartDashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? options.config.dashboard.host;
  const port = options.port ?? options.config.dashboard.port;
  assertSafeBind(host, options.config.dashboard);
  const dashboard = createDashboard(options);
  await dashboard.start();
  const server = createServer(dashboard.handler);
  // Server-sent event streams stay open: close() ends them instead of waiting.
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    await dashboard.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    dashboard,
    url: `http://${shown}:${address.port}${options.basePath ?? ""}/`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dashboard.close();
    },
  };
}
