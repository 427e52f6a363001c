import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineTask, parseConfig } from "@worker-toolbox/config";
import { type RunningDashboard, startDashboard } from "@worker-toolbox/dashboard";
import { pino } from "pino";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { z } from "zod";
import { createProducer, type Producer } from "../../packages/runtime/src/producer/index.js";
import { createTracker } from "../../packages/runtime/src/tracker/index.js";
import {
  createWorker,
  implementTask,
  PermanentError,
  type Worker,
} from "../../packages/runtime/src/worker/index.js";
import { implementations as fixtureTasks, sleep as sleepTask } from "../fixtures/workers/tasks.js";
import { launchChromium } from "../support/browser.js";
import { testServers } from "../support/servers.js";
import { createHarness, type Harness, testLogger } from "../worker/harness.js";

/**
 * What the dashboard's browser tests run against: a real broker and database, a worker (service `wtest`,
 * one task at a time) with a "payments API" task that fails permanently — dead-lettered — while
 * `payments.down`, a tracker, the dashboard, and one Chromium with an operator and a viewer context.
 */
export const charge = defineTask({
  name: "wtest.charge",
  args: z.tuple([z.string()]),
  result: z.string(),
});

export const operatorPassword = "operator-password-for-tests";
export const viewerPassword = "viewer-password-for-tests";

export interface BrowserWorld {
  h: Harness;
  producer: Producer;
  worker: Worker;
  dashboard: RunningDashboard;
  browser: Browser;
  operator: BrowserContext;
  viewer: BrowserContext;
  /** The dashboard's audit trail: its "dashboard action" / "dashboard action done" log lines, parsed. */
  audit: Record<string, unknown>[];
  /** The "payments API": down until a test fixes it; `calls` counts the handler's runs. */
  payments: { down: boolean; calls: number };
  /** An absolute URL of a dashboard path. */
  url(path: string): string;
  /** Open a page and wait until its live-update stream is connected. */
  open(page: Page, path: string): Promise<void>;
  /** Poll until the task's result row has `status`; the time it was seen. */
  resultRow(id: string, status: string): Promise<number>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

const shots =
  process.env.DASHBOARD_SCREENSHOTS ?? fileURLToPath(new URL("../tmp/screenshots/", import.meta.url));

/** `workerEvents`: the worker sends heartbeats (every 500 ms), so the dashboard knows it and its service. */
export async function startBrowserWorld(
  label: string,
  options: { workerEvents?: boolean } = {},
): Promise<BrowserWorld> {
  const servers = testServers();
  const payments = { down: true, calls: 0 };
  const chargeTask = implementTask(charge, ({ args: [order] }) => {
    payments.calls++;
    if (payments.down) throw new PermanentError(`payments API: 503 for ${order}`);
    return `charged ${order}`;
  });
  const h = await createHarness(label, servers, {
    worker: {
      concurrency: 1,
      prefetch: 1,
      ...(options.workerEvents ? { events: true, heartbeatMs: 500 } : {}),
    },
  });
  const producer = createProducer({ config: h.config, contracts: [charge, sleepTask], logger: testLogger });
  const worker = createWorker({
    config: h.config,
    tasks: [chargeTask, ...fixtureTasks.filter((task) => task.contract.name === sleepTask.name)],
    logger: testLogger,
  });
  const tracker = createTracker({ config: h.config, logger: testLogger, pool: h.pool });
  const config = parseConfig({
    environment: { prefix: h.prefix },
    broker: {
      url: servers.amqpUrl,
      ...(servers.managementUrl ? { managementUrl: servers.managementUrl } : {}),
    },
    database: { url: h.databaseUrl },
    service: "wtest",
    dashboard: { port: 0, operatorPassword, viewerPassword },
    logLevel: "silent",
  });
  const audit: Record<string, unknown>[] = [];
  const auditLogger = pino(
    { level: "info" },
    {
      write(line: string) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (String(entry.msg).startsWith("dashboard action")) audit.push(entry);
      },
    },
  );
  const [dashboard, browser] = await Promise.all([
    startDashboard({ config, logger: auditLogger }),
    launchChromium(),
    worker.start(),
    tracker.start(),
    producer.ready(20_000),
  ]).then(([d, b]) => [d, b] as const);
  const operator = await browser.newContext({
    httpCredentials: { username: "operator", password: operatorPassword },
    viewport: { width: 1200, height: 720 },
  });
  const viewer = await browser.newContext({
    httpCredentials: { username: "viewer", password: viewerPassword },
    viewport: { width: 1200, height: 720 },
  });
  const url = (path: string) => new URL(path.replace(/^\//, ""), dashboard.url).toString();
  return {
    h,
    producer,
    worker,
    dashboard,
    browser,
    operator,
    viewer,
    audit,
    payments,
    url,
    async open(page, path) {
      await page.goto(url(path));
      await page.waitForSelector("body[data-live=connected]", { timeout: 10_000 });
    },
    async resultRow(id, status) {
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        const { rows } = await h.pool.query("SELECT status FROM celery_taskmeta WHERE task_id = $1", [id]);
        if (rows[0]?.status === status) return Date.now();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`task ${id} never reached ${status}`);
    },
    async screenshot(page, name) {
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: `${shots}/${name}.png` });
    },
    async close() {
      await browser.close();
      await dashboard.close();
      await worker.close();
      await tracker.close();
      await producer.close();
      await h.close();
    },
  };
}
