/**
 * @worker-toolbox/dashboard — the web UI over the persistent task history (PostgreSQL), the broker
 * (management API, dead-letter queues) and the workers' Celery heartbeats; and the read queries the CLI's
 * `task` / `tasks` commands share with it.
 */
export { type Actions, createActions, type ReplaySummary } from "./actions.js";
export { assertSafeBind, type Credentials, isLoopback, type Principal, type Role } from "./auth.js";
export { createDashboard, type Dashboard, type DashboardOptions } from "./createDashboard.js";
export * from "./queries/index.js";
export { type RunningDashboard, type StartDashboardOptions, startDashboard } from "./startDashboard.js";
export { type VersionSkew, versionSkew, type WorkerInfo, WorkerRegistry } from "./workers/workerRegistry.js";
