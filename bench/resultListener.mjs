/**
 * What the result listener costs a process that waits for a few results while many others commit: a child
 * process (plain JavaScript on the BUILT packages of a checkout) holds a ResultWatcher with BENCH_LISTENER_WAITS
 * (100) idle waits on tasks that never finish, and one on a sentinel; this process then writes
 * BENCH_LISTENER_NOTES (20,000) other SUCCESS results with the result store (each note carries its row,
 * ~450 bytes), then the sentinel. Reported: the child's CPU time (process.cpuUsage) from the first write until
 * its sentinel wait resolved, per note heard — what receiving and sorting the notes costs. recheckMs 0: no
 * wait reads its row on a timer, so the figure is the notes alone.
 *
 *   npm run build && node bench/resultListener.mjs
 * Env: BENCH_LISTENER_BASE=<another built checkout> (its listener too, alternating with this one: an A/B),
 * BENCH_LISTENER_ROUNDS (3), BENCH_LISTENER_NOTES, BENCH_LISTENER_WAITS. Uses DATABASE_URL when set, else
 * starts a throwaway PostgreSQL.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const SCHEMA = "public";
const NOTES = Number(process.env.BENCH_LISTENER_NOTES ?? 20_000);
const WAITS = Number(process.env.BENCH_LISTENER_WAITS ?? 100);
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

if (process.env.BENCH_LISTENER_CHILD) await child(JSON.parse(process.env.BENCH_LISTENER_CHILD));
else await main();

/** The waiting process: a watcher, WAITS idle waits and the sentinel's; prints its CPU once the sentinel came. */
async function child({ root, url, sentinel }) {
  const { createResultWatcher } = await import(
    pathToFileURL(join(root, "packages/runtime/dist/results/index.js"))
  );
  const { default: pg } = await import(
    pathToFileURL(createRequire(join(root, "package.json")).resolve("pg")).href
  );
  const { failOnPgError } = await import("./pgErrors.mjs");
  const pool = failOnPgError(new pg.Pool({ connectionString: url, max: 3 }), "waiting process pool");
  const watcher = createResultWatcher({ pool, schema: SCHEMA });
  await watcher.ready();
  const idle = Array.from({ length: WAITS }, (_, i) =>
    watcher.wait(`idle-${i}`, { timeoutMs: 600_000, recheckMs: 0 }).catch(() => undefined),
  );
  let started;
  const done = watcher
    .wait(sentinel, { timeoutMs: 600_000, recheckMs: 0 })
    .then(() => process.cpuUsage(started));
  while (watcher.waiting < WAITS + 1) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100)); // every wait's first read is done
  const lines = createInterface({ input: process.stdin });
  lines.once("line", async () => {
    started = process.cpuUsage();
    const cpu = await done;
    process.stdout.write(`${JSON.stringify({ event: "heard", cpuUs: cpu.user + cpu.system })}\n`);
    await watcher.close();
    await Promise.all(idle);
    await pool.end();
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ event: "ready" })}\n`);
}

async function main() {
  const { createResultStore, migrate } = await import("@worker-toolbox/runtime/results");
  const { createTestDatabase, startPostgres } = await import("@worker-toolbox/testing");
  const { default: pg } = await import("pg");
  const { failOnPgError } = await import("./pgErrors.mjs");
  const here = fileURLToPath(new URL("../", import.meta.url));
  const base = process.env.BENCH_LISTENER_BASE;
  const rounds = Number(process.env.BENCH_LISTENER_ROUNDS ?? 3);
  const server = process.env.DATABASE_URL ? undefined : await startPostgres();
  const db = await createTestDatabase(process.env.DATABASE_URL ?? server.url, "listener_cost");
  const pool = failOnPgError(new pg.Pool({ connectionString: db.url, max: 4 }), "writer");
  const figures = { base: [], this: [] };
  let n = 0;
  try {
    await migrate(pool, { schema: SCHEMA });
    const store = createResultStore({ pool, schema: SCHEMA, workerName: "bench@host" });
    for (let round = 0; round < rounds; round++) {
      for (const [code, root] of base
        ? [
            ["base", base],
            ["this", here],
          ]
        : [["this", here]]) {
        const sentinel = `sentinel-${round}-${code}`;
        const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
          env: { ...process.env, BENCH_LISTENER_CHILD: JSON.stringify({ root, url: db.url, sentinel }) },
          stdio: ["pipe", "pipe", "inherit"],
        });
        const events = createInterface({ input: proc.stdout });
        const next = () => new Promise((resolve) => events.once("line", (line) => resolve(JSON.parse(line))));
        await next(); // ready
        const before = load();
        proc.stdin.write("go\n");
        const heard = next();
        for (let written = 0; written < NOTES; written += 500) {
          await store.writeMany(
            Array.from({ length: Math.min(500, NOTES - written) }, () => ({
              taskId: crypto.randomUUID(),
              name: "bench.other",
              state: "SUCCESS",
              result: { n: ++n, ok: true },
              args: [n],
              kwargs: {},
            })),
          );
        }
        await store.markSuccess({ taskId: sentinel }, "sentinel");
        const { cpuUs } = await heard;
        await new Promise((resolve) => proc.once("exit", resolve));
        const perNote = cpuUs / (NOTES + 1);
        figures[code].push(perNote);
        console.log(
          `round ${round + 1} ${code.padEnd(4)}: ${WAITS} idle waits, ${NOTES} other results: ` +
            `${perNote.toFixed(2)} µs CPU per note in the waiting process; load ${before} → ${load()}`,
        );
      }
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const [code, xs] of Object.entries(figures))
      if (xs.length)
        console.log(`${code}: median ${median(xs).toFixed(2)} µs per note (${xs.length} rounds)`);
  } finally {
    await pool.end();
    await db.drop();
    await server?.dispose();
  }
}
