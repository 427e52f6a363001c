/**
 * What an idle worker holds, phase by phase: a toolbox worker (createWorker, the e2e bench's task) and the raw
 * batched consumer (bench/rawPipeline.mjs), each in a process of its own started with the generated services'
 * flags (bench/e2e/workerFlags.ts), report `process.memoryUsage()`, /proc's resident set and V8's space sizes
 * after each phase: Node started, modules loaded, worker created, consuming, idle 3 s, and idle
 * BENCH_IDLE_LATER seconds more (V8's memory reducer shrinks an idle young generation). No message is sent:
 * this is the footprint a short run starts from.
 *
 *   npm run build && npx tsx bench/workerIdle.mjs      (the children run on plain node)
 * Env: BENCH_IDLE_BASE=<another built checkout> (its worker too: an A/B), BENCH_IDLE_ROUNDS (3),
 * BENCH_IDLE_LATER (25; 0 skips it), BENCH_IDLE_NODE_ARGS (default the generated services' flags; "none").
 * Uses AMQP_URL / DATABASE_URL when set, else starts throwaway servers.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { dependencyOf } from "./checkoutImport.mjs";

const HERE = fileURLToPath(new URL("../", import.meta.url));
const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

if (process.argv[2] === "child") await child(process.argv[3], process.argv[4], JSON.parse(process.argv[5]));
else await main();

function sample(name) {
  const status = readFileSync("/proc/self/status", "utf8");
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0) * 1024;
  const m = process.memoryUsage();
  const space = (name) => v8.getHeapSpaceStatistics().find((s) => s.space_name === name)?.space_size ?? 0;
  return {
    phase: name,
    rss: mb(m.rss),
    hwm: mb(kb("VmHWM")),
    anon: mb(kb("RssAnon")),
    file: mb(kb("RssFile")),
    heapUsed: mb(m.heapUsed),
    newSpace: mb(space("new_space")),
    oldSpace: mb(space("old_space")),
    code: mb(space("code_space")),
    external: mb(m.external),
  };
}

/** One worker's phases, printed as one JSON line. */
async function child(system, root, run) {
  const phases = [sample("node started")];
  const idle = async (seconds, name) => {
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    phases.push(sample(name));
  };
  let stop;
  if (system === "raw") {
    const { startRawConsumer } = await import("./rawPipeline.mjs");
    phases.push(sample("modules loaded"));
    const consumer = await startRawConsumer(run.raw, "batched", () => undefined);
    phases.push(sample("consuming"));
    stop = () => consumer.stop();
  } else {
    // zod and pino from the checkout under test, as its own packages load them (one copy of each).
    const { pino } = await import(dependencyOf(root, "pino"));
    const { z } = await import(dependencyOf(root, "zod"));
    const { defineTask, parseConfig } = await import(`${root}/packages/config/dist/index.js`);
    const { createWorker, implementTask } = await import(`${root}/packages/runtime/dist/index.js`);
    phases.push(sample("modules loaded"));
    const task = defineTask({
      name: "bench.payload",
      args: z.tuple([z.number().int(), z.string()]),
      result: z.number().int(),
    });
    const worker = createWorker({
      config: parseConfig(run.config),
      tasks: [implementTask(task, ({ args: [n] }) => n)],
      logger: pino({ level: "warn" }, pino.destination(2)),
    });
    phases.push(sample("worker created"));
    await worker.start();
    phases.push(sample("consuming"));
    stop = () => worker.close({ graceMs: 100 });
  }
  await idle(3, "idle 3 s");
  if (run.later > 0) await idle(run.later, `idle ${3 + run.later} s`);
  await stop();
  process.stdout.write(`${JSON.stringify(phases)}\n`);
  process.exit(0);
}

async function main() {
  const { parseConfig, planTopology } = await import("@worker-toolbox/config");
  const { migrate, createDatabasePool } = await import("@worker-toolbox/runtime/results");
  const { applyTopology } = await import("@worker-toolbox/runtime/topology");
  const { createTestDatabase, createTestNamespace, deleteNamespace, startLocalServers } = await import(
    "@worker-toolbox/testing"
  );
  const { workerNodeArgs } = await import("./e2e/workerFlags.ts");
  const amqp = (await import("amqplib")).default;
  const servers = await startLocalServers();
  const database = await createTestDatabase(servers.databaseUrl, "benchidle");
  const prefix = createTestNamespace("bidle");
  const input = {
    environment: { prefix },
    service: "bench",
    broker: { url: servers.amqpUrl },
    database: { url: database.url },
    logLevel: "warn",
  };
  const config = parseConfig(input);
  const nodeArgs = workerNodeArgs({ BENCH_E2E_WORKER_NODE_ARGS: process.env.BENCH_IDLE_NODE_ARGS });
  const run = {
    config: input,
    // What bench/rawPipeline.mjs reads of a parsed config (parsed here: zod stays out of the raw process).
    raw: {
      environment: config.environment,
      service: config.service,
      broker: config.broker,
      database: config.database,
      worker: config.worker,
    },
    later: Number(process.env.BENCH_IDLE_LATER ?? 25),
  };
  const pool = createDatabasePool(config);
  const systems = [
    ["raw", HERE],
    ["toolbox", HERE],
  ];
  if (process.env.BENCH_IDLE_BASE) systems.push(["toolbox-base", process.env.BENCH_IDLE_BASE]);
  const results = Object.fromEntries(systems.map(([name]) => [name, []]));
  try {
    await migrate(pool, { schema: config.database.schema });
    const connection = await amqp.connect(servers.amqpUrl);
    await applyTopology(await connection.createChannel(), planTopology(config));
    await connection.close();
    console.log(`flags: ${nodeArgs.join(" ") || "(Node's defaults)"}; load ${load()}`);
    for (let round = 0; round < Number(process.env.BENCH_IDLE_ROUNDS ?? 3); round++) {
      for (const [name, root] of systems) {
        const proc = spawn(
          process.execPath,
          [
            ...nodeArgs,
            fileURLToPath(import.meta.url),
            "child",
            name === "raw" ? "raw" : "toolbox",
            root,
            JSON.stringify(run),
          ],
          { stdio: ["ignore", "pipe", "inherit"] },
        );
        const [line] = await Promise.all([
          new Promise((resolve) => createInterface({ input: proc.stdout }).once("line", resolve)),
          new Promise((resolve) => proc.once("exit", resolve)),
        ]);
        results[name].push(JSON.parse(line));
      }
    }
    console.log(`load ${load()}; medians of ${results.raw.length} rounds, MB`);
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const [name, runs] of Object.entries(results)) {
      console.log(`\n${name}`);
      const rows = runs[0].map((first, i) =>
        Object.fromEntries(
          Object.keys(first).map((key) => [
            key,
            key === "phase" ? first.phase : median(runs.map((r) => r[i][key])),
          ]),
        ),
      );
      console.table(rows);
    }
  } finally {
    await pool.end();
    await database.drop();
    if (servers.managementUrl) await deleteNamespace(servers.managementUrl, prefix).catch(() => undefined);
    await servers.stop();
  }
}
