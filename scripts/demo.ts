/**
 * The main job, end to end (`npm run demo`):
 *   1. start a throwaway RabbitMQ node and PostgreSQL cluster (or use AMQP_URL / DATABASE_URL);
 *   2. scaffold a worker service with `worker-toolbox new`, linked to this checkout, install and build it;
 *   3. migrate the result backend and create the least-privilege worker role;
 *   4. run the service's worker (as that role) and the platform tracker;
 *   5. send it tasks with a producer using the service's own contracts, including one bad call;
 *   6. show the results and the tracking records;
 *   7. serve the dashboard and print its URL: on a terminal it stays up (with the worker) until Ctrl+C, in CI
 *      or any non-terminal run it answers one request and the demo goes on;
 *   8. stop the worker with SIGTERM, clean up.
 * Pass --keep to leave the generated service in place.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runCli } from "@worker-toolbox/cli";
import { type AnyTaskContract, maskUrl, parseConfig } from "@worker-toolbox/config";
import { type RunningDashboard, startDashboard } from "@worker-toolbox/dashboard";
import { createProducer, createTracker, getTask, waitForResult } from "@worker-toolbox/runtime";
import { createDatabasePool, grantsSql, migrate } from "@worker-toolbox/runtime/results";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  startLocalServers,
} from "@worker-toolbox/testing";
import { pino } from "pino";

const root = fileURLToPath(new URL("../", import.meta.url));
const keep = process.argv.includes("--keep");
const service = "demo-exports";
const step = (text: string) => console.log(`\n\x1b[1m▶ ${text}\x1b[0m`);

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}`)),
    );
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

step("Starting RabbitMQ and PostgreSQL (throwaway, loopback, free ports)");
const servers = await startLocalServers();
console.log(`  RabbitMQ   ${maskUrl(servers.amqpUrl)}`);
console.log(`  PostgreSQL ${maskUrl(servers.databaseUrl)}`);
const workdir = mkdtempSync(join(tmpdir(), "worker-toolbox-demo-"));
const serviceDir = join(workdir, service);
const prefix = createTestNamespace("demo");
// A database of its own, so the demo never touches tables in a DATABASE_URL you pointed it at.
const database = await createTestDatabase(servers.databaseUrl, "demo");
let worker: ChildProcess | undefined;

try {
  step("Building the toolbox packages (the service links to this checkout)");
  await run("npm", ["run", "-s", "build"], root);

  step(`Scaffolding the ${service} service: worker-toolbox new ${service} --task render`);
  const code = await runCli([
    "new",
    service,
    "--task",
    "render",
    "--description",
    "Renders documents (the demo's service).",
    "--toolbox-path",
    root,
    "--dir",
    serviceDir,
  ]);
  if (code !== 0) throw new Error(`worker-toolbox new exited ${code}`);

  step("Installing and building the service (npm install, npm run build)");
  await run(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
    serviceDir,
  );
  await run("npm", ["run", "-s", "build"], serviceDir);

  step("Migrating the result backend and creating the least-privilege worker role");
  const adminConfig = parseConfig({
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    database: { url: database.url },
  });
  const admin = createDatabasePool(adminConfig);
  const migrated = await migrate(admin, { schema: "public" });
  console.log(`  schema at version ${migrated.current} (${migrated.applied.length} applied now)`);
  const workerPassword = `demo-${Math.random().toString(36).slice(2)}`;
  await admin.query(
    grantsSql({
      schema: "public",
      workerRole: "demo_worker",
      trackerRole: "demo_tracker",
      dashboardRole: "demo_dashboard",
      passwords: { worker: workerPassword, dashboard: workerPassword },
    }),
  );
  const workerDbUrl = new URL(database.url);
  workerDbUrl.username = "demo_worker";
  workerDbUrl.password = workerPassword;

  step(
    "Starting the platform tracker and the service's worker (node --max-semi-space-size=8 dist/worker.js)",
  );
  const tracker = createTracker({ config: adminConfig, logger: pino({ level: "warn" }), pool: admin });
  await tracker.start();
  worker = spawn("node", ["--max-semi-space-size=8", "dist/worker.js"], {
    cwd: serviceDir,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      AMQP_URL: servers.amqpUrl,
      DATABASE_URL: workerDbUrl.toString(),
      WT_ENVIRONMENT_PREFIX: prefix,
      WT_LOG_LEVEL: "info",
    },
  });
  const workerExit = exitOf(worker);
  const workerDied = workerExit.then((exitCode) => {
    throw new Error(`the worker exited early with code ${exitCode}; its log is above`);
  });
  workerDied.catch(() => undefined);

  step("Sending tasks with a producer that uses the service's own contract");
  const { renderTask } = (await import(pathToFileURL(join(serviceDir, "dist/tasks/render.js")).href)) as {
    renderTask: AnyTaskContract;
  };
  const producer = createProducer({
    config: adminConfig,
    contracts: [renderTask],
    logger: pino({ level: "warn" }),
  });
  const receipts = [];
  for (const id of ["invoice-1", "invoice-2", "invoice-3", "report-7", "report-8"]) {
    receipts.push(await producer.send(renderTask, [id], {}, { tracking: { requestedBy: "demo-user" } }));
  }
  console.log(`  sent ${receipts.length} tasks; each send resolved only after the broker confirmed it`);
  try {
    await producer.send(renderTask, [42 as unknown as string]);
  } catch (error) {
    console.log(
      `  a bad call fails before anything is published:\n    ${String((error as Error).message).replace(/\n/g, "\n    ")}`,
    );
  }

  step("Results (woken by LISTEN/NOTIFY as each is stored)");
  for (const receipt of receipts) {
    await Promise.race([waitForResult(admin, "public", receipt.id, { timeoutMs: 30_000 }), workerDied]);
    const view = await getTask(admin, "public", receipt.id);
    console.log(`  ${receipt.id}  ${view.status.padEnd(8)} ${JSON.stringify(view.result?.value ?? null)}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  const { rows } = await admin.query(
    "select task_id, name, tracking from worker_toolbox_tasks where name = $1 order by created_at",
    [renderTask.name],
  );
  console.log(`\n  tracking table: ${rows.length} tasks recorded by the platform tracker, e.g.`);
  console.log(`  ${rows[0]?.task_id}  ${rows[0]?.name}  ${JSON.stringify(rows[0]?.tracking)}`);

  step("Serving the dashboard (as the least-privilege dashboard role)");
  const dashboardDbUrl = new URL(database.url);
  dashboardDbUrl.username = "demo_dashboard";
  dashboardDbUrl.password = workerPassword;
  const dashboard = await serveDashboard(
    parseConfig({
      environment: { prefix },
      broker: {
        url: servers.amqpUrl,
        ...(servers.managementUrl ? { managementUrl: servers.managementUrl } : {}),
      },
      database: { url: dashboardDbUrl.toString() },
      service,
      logLevel: "warn",
    }),
  );
  console.log(`\n  \x1b[1mDashboard: ${dashboard.url}\x1b[0m`);
  if (process.stdin.isTTY && process.stdout.isTTY) {
    console.log("  Open it in a browser; send more tasks meanwhile. Press Ctrl+C to stop the demo.");
    await untilCtrlC();
    console.log("");
  } else {
    const response = await fetch(new URL("api/tasks?limit=500", dashboard.url));
    const page = (await response.json()) as { tasks: unknown[] };
    console.log(
      `  (not a terminal: not waiting) GET /api/tasks answered ${response.status} with ${page.tasks.length} tasks`,
    );
  }
  await dashboard.close();

  step("Stopping the worker with SIGTERM (drains in-flight tasks, exits 0)");
  worker.kill("SIGTERM");
  console.log(`  worker exited with code ${await workerExit}`);
  worker = undefined;
  await producer.close();
  await tracker.close();
  await admin.end();
  console.log(`\n\x1b[1mDone.\x1b[0m The service lived in ${serviceDir}${keep ? " (kept)" : " (removed)"}.`);
} finally {
  worker?.kill("SIGKILL");
  if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix).catch(() => undefined);
  await database.drop().catch(() => undefined);
  await servers.stop();
  if (!keep) rmSync(workdir, { recursive: true, force: true });
}

/** The dashboard on its usual port, or on any free one when that is taken. */
async function serveDashboard(config: ReturnType<typeof parseConfig>): Promise<RunningDashboard> {
  const logger = pino({ level: "warn" });
  try {
    return await startDashboard({ config, logger, port: 8089 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    return startDashboard({ config, logger, port: 0 });
  }
}

/**
 * Wait for Ctrl+C, read as a key: the terminal is put in raw mode so it sends no SIGINT to the whole process
 * group (the throwaway RabbitMQ node and the worker would die with it before the demo could stop them in order).
 */
function untilCtrlC(): Promise<void> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    const done = () => {
      stdin.off("data", onKey);
      stdin.setRawMode(false);
      stdin.pause();
      resolve();
    };
    const onKey = (key: Buffer) => {
      // Ctrl+C, Ctrl+D or q.
      if (key.includes(3) || key.includes(4) || key.toString() === "q") done();
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onKey);
    process.once("SIGTERM", done);
  });
}
