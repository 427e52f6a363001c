/**
 * Tracker backlog drain: 100,000 task messages queued on the platform queue, then one tracker drains them
 * into the tracking table. Reports messages/s and the tracker process's RSS.
 *
 *   npm run bench -- tracker            (or: npm run build && npx tsx bench/tracker.ts)
 * Uses AMQP_URL / DATABASE_URL when set, else starts throwaway servers.
 */
import { parseConfig } from "@worker-toolbox/config";
import { createTracker } from "@worker-toolbox/runtime";
import { encodeTaskMessage, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { createDatabasePool, migrate } from "@worker-toolbox/runtime/results";
import {
  createTestDatabase,
  createTestNamespace,
  deleteNamespace,
  startLocalServers,
} from "@worker-toolbox/testing";
import amqp from "amqplib";
import { pino } from "pino";

export async function benchTracker(count = Number(process.env.BENCH_TRACKER_COUNT ?? 100_000)) {
  const servers = await startLocalServers();
  const database = await createTestDatabase(servers.databaseUrl, "benchtrk");
  const prefix = createTestNamespace("btrk");
  const config = parseConfig({
    environment: { prefix },
    broker: { url: servers.amqpUrl },
    database: { url: database.url },
    queue: { type: "classic" },
  });
  const pool = createDatabasePool(config);
  await migrate(pool, { schema: "public" });

  // Declare the topology, then stop the tracker so the backlog builds up.
  const setup = createTracker({ config, logger: pino({ level: "silent" }), pool });
  await setup.start();
  await setup.close();

  const connection = await amqp.connect(servers.amqpUrl);
  const channel = await connection.createConfirmChannel();
  for (let i = 0; i < count; i++) {
    const { content, properties } = encodeTaskMessage(
      newTaskMessage({ task: "bench.noop", args: [i], kwargs: { i } }),
    );
    if (!channel.publish(`${prefix}.tasks`, "bench.noop", content, properties))
      await new Promise((r) => channel.once("drain", r));
    if (i % 5_000 === 4_999) await channel.waitForConfirms();
  }
  await channel.waitForConfirms();

  const tracker = createTracker({ config, logger: pino({ level: "silent" }), pool });
  const started = performance.now();
  await tracker.start();
  let peakRss = 0;
  while (tracker.stats.stored < count) {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  await tracker.close();
  const { rows } = await pool.query("select count(*)::int as n from worker_toolbox_tasks");

  await connection.close();
  await pool.end();
  await database.drop();
  if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix);
  await servers.stop();
  return {
    count,
    stored: rows[0].n as number,
    seconds,
    perSecond: Math.round(count / seconds),
    peakRssMb: Math.round(peakRss / 2 ** 20),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchTracker();
  console.log(JSON.stringify(result));
  console.log(
    `tracker drained ${result.stored}/${result.count} messages in ${result.seconds.toFixed(1)} s = ${result.perSecond}/s, peak RSS ${result.peakRssMb} MB`,
  );
}
