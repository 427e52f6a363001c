/**
 * What the result trigger's notification costs the database (migration 6: a final state's note carries the
 * row). A throwaway PostgreSQL; 50 batches of 200 SUCCESS rows written with the result store's upsert, with
 * the trigger function of migration 1 (schema, task_id, status) and of migration 6 in turn, 4 rounds each.
 * Prints CPU µs per row of the writing backend, and of the listening backend plus this process (one LISTEN
 * connection hears every note, as a ResultWatcher does).
 *
 *   npm run build && node bench/resultNoteCost.mjs [0|1k]     (the result is an int; 1k: 1 KB args)
 */
import { readFileSync } from "node:fs";
import { createResultStore, MIGRATIONS, migrate } from "@worker-toolbox/runtime/results";
import { createTestDatabase, startLocalServers } from "@worker-toolbox/testing";
import pg from "pg";
import { failOnPgError } from "./pgErrors.mjs";

const BATCHES = 50;
const ROWS = 200;
const payload = process.argv[2] === "1k" ? "x".repeat(1024) : "";
/** CPU µs of a process (utime + stime, in clock ticks of 10 ms). */
const cpuOf = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
const functionOf = (version, create) =>
  new RegExp(`${create} worker_toolbox_notify_result\\(\\)[\\s\\S]*?\\$fn\\$;`)
    .exec(MIGRATIONS[version - 1].sql)[0]
    .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION");
const variants = {
  "ids only (1)": functionOf(1, "CREATE FUNCTION"),
  "with the row (6)": functionOf(6, "CREATE OR REPLACE FUNCTION"),
};

const servers = await startLocalServers();
const db = await createTestDatabase(servers.databaseUrl, "note_cost");
const pool = failOnPgError(new pg.Pool({ connectionString: db.url, max: 1 }), "writer");
const listener = failOnPgError(new pg.Client({ connectionString: db.url }), "listener");
try {
  await migrate(pool, { schema: "public" });
  const writer = (await pool.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  await listener.connect();
  await listener.query("LISTEN worker_toolbox_result");
  let heard = 0;
  listener.on("notification", () => heard++);
  const listening = (await listener.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  const listenerCpu = () => cpuOf(listening) + cpuOf(process.pid);
  const store = createResultStore({ pool, schema: "public", workerName: "w@bench" });
  let n = 0;
  const figures = Object.fromEntries(
    Object.keys(variants).map((name) => [name, { writer: [], listener: [] }]),
  );
  for (let round = 0; round < 4; round++) {
    for (const [name, sql] of Object.entries(variants)) {
      await pool.query(sql);
      const [w, l] = [cpuOf(writer), listenerCpu()];
      for (let b = 0; b < BATCHES; b++)
        await store.writeMany(
          Array.from({ length: ROWS }, () => ({
            taskId: `t-${++n}`,
            name: "bench.note",
            state: "SUCCESS",
            result: n,
            args: [n, payload],
            kwargs: {},
          })),
        );
      await new Promise((resolve) => setTimeout(resolve, 300)); // the listener hears the last notes
      figures[name].writer.push((cpuOf(writer) - w) / (BATCHES * ROWS));
      figures[name].listener.push((listenerCpu() - l) / (BATCHES * ROWS));
    }
  }
  console.log(
    `CPU µs per row (4 rounds; ${heard} notes heard); load ${readFileSync("/proc/loadavg", "utf8").trim()}`,
  );
  for (const [name, f] of Object.entries(figures))
    console.log(
      `${name.padEnd(18)} writer ${f.writer.join(", ")}   listener + this process ${f.listener.map((x) => x.toFixed(1)).join(", ")}`,
    );
} finally {
  await listener.end().catch(() => undefined);
  await pool.end();
  await db.drop();
  await servers.stop();
}
