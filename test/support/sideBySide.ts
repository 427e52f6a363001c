import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { entityNames } from "@worker-toolbox/config";
import { migrate } from "@worker-toolbox/runtime/results";
import { createTestDatabase, createTestNamespace, deleteNamespace } from "@worker-toolbox/testing";
import amqp from "amqplib";
import { testPool } from "./database.js";
import { run } from "./releaseCheckout.js";
import type { TestServers } from "./servers.js";
import { type ServiceWorker, startServiceWorker } from "./serviceWorker.js";

/** One installed release of a service: its directory (installed from the registry) and the version in it. */
export interface Release {
  version: string;
  dir: string;
}

export interface ReadTask {
  id: string;
  status: string;
  value: { id: string } | undefined;
  worker: string | null | undefined;
}

export interface SideBySide {
  /** The ids each release's producer sent, in release order. */
  sent: string[][];
  /** Every task as each release's runtime read it back, in release order. */
  reads: ReadTask[][];
  /** The task ids each release's worker ran its handler for (its handler's log lines). */
  ran: string[][];
  /** The worker's pid, as it appears in the result rows' `worker` column (`<service>-<pid>@<host>`). */
  pids: number[];
  /** Messages in the platform tracking queue afterwards (nothing consumes it here). */
  platformCopies: number;
  /** Each worker's exit code after SIGTERM. */
  exitCodes: (number | null)[];
  output: string;
}

/**
 * Two (or more) releases of one service at once on one throwaway environment (its own prefix and database):
 * each is built (`npm run build`), its worker started as the Dockerfile does, then each release's producer
 * sends `count` tasks while every worker consumes the one service queue, and each release reads back every
 * task. `handlerLine` is the message the service's handler logs once per run (the template's `processing`).
 * test/fixtures/release/sideBySide.mjs is the producer and reader, run inside each service directory, so
 * that it loads that release's runtime and that build's contracts.
 */
export async function runSideBySide(
  releases: readonly Release[],
  servers: TestServers,
  baseEnv: NodeJS.ProcessEnv,
  { count, handlerLine }: { count: number; handlerLine: string },
): Promise<SideBySide> {
  const database = await createTestDatabase(servers.databaseUrl, "side-by-side");
  const prefix = createTestNamespace("side-by-side");
  const pool = testPool({ connectionString: database.url, max: 1 });
  const env = { ...baseEnv, AMQP_URL: servers.amqpUrl, DATABASE_URL: database.url };
  Object.assign(env, { WT_ENVIRONMENT_PREFIX: prefix, WT_LOG_LEVEL: "info" });
  const workers: ServiceWorker[] = [];
  const node = (at: string, args: string[]) => {
    const ran = run(process.execPath, ["side-by-side.mjs", ...args], at, env);
    if (ran.code !== 0) throw new Error(ran.output);
    return JSON.parse(ran.stdout);
  };
  try {
    await migrate(pool, { schema: "public" });
    for (const { version, dir } of releases) {
      const built = run("npm", ["run", "build"], dir, env);
      if (built.code !== 0) throw new Error(built.output);
      copyFileSync(
        new URL("../fixtures/release/sideBySide.mjs", import.meta.url),
        join(dir, "side-by-side.mjs"),
      );
      workers.push(await startServiceWorker(dir, env, version));
    }
    const sent = releases.map(({ version, dir }) => node(dir, ["send", String(count), `from-${version}`]));
    const ids = (sent as string[][]).flat();
    const reads = releases.map(({ dir }) => node(dir, ["read", ...ids]) as ReadTask[]);
    const ran = workers.map((worker) =>
      worker
        .lines()
        .filter((line) => line.msg === handlerLine)
        .map((line) => String(line.taskId)),
    );
    return {
      sent,
      reads,
      ran,
      pids: workers.map((worker) => worker.pid),
      platformCopies: await queueDepth(servers.amqpUrl, entityNames(prefix).platformQueue),
      exitCodes: await Promise.all(workers.map((worker) => worker.stop())),
      output: workers.map((worker) => worker.output()).join("\n"),
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await pool.end();
    await database.drop();
    if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix);
  }
}

async function queueDepth(amqpUrl: string, queue: string): Promise<number> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}
