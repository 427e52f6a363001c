/**
 * How the result writer's upsert sends its parameters, measured side by side (issue 20): the same rows
 * (a SUCCESS row with args `[i, "x" * payload]`, as bench/e2e sends) stored in batches of 100 with
 *   hex         node-postgres's text arrays (bytea elements as hex text, text elements quoted): before
 *   convert_to  args/kwargs as text[] parameters turned into bytea on the server (convert_to(..., 'UTF8'))
 *   binary      every text and bytea column as one binary array parameter (results/binaryArrays.ts): now
 * Reports, per row: the Node process's CPU (encoding the parameters + the protocol), the database backend's
 * CPU (parsing them + the upsert) and the wall time per batch. Rounds alternate the variants.
 *
 *   npx tsx bench/resultParams.ts        (env: BENCH_PARAMS_ROWS (10000; 100 KB: a tenth), BENCH_PARAMS_ROUNDS (3))
 * Uses DATABASE_URL when set, else starts a throwaway PostgreSQL (fsync off: the CPU columns are what count).
 */
import { readFileSync } from "node:fs";
import type pg from "pg";
import { encodeOutcome } from "../packages/runtime/src/results/encodeOutcome.js";
import { migrate } from "../packages/runtime/src/results/migrate.js";
import { guardedClient, guardedPool } from "../packages/runtime/src/results/poolErrors.js";
import { columnValues, upsertParams, upsertSql } from "../packages/runtime/src/results/resultStore.js";
import type { TaskOutcome } from "../packages/runtime/src/results/resultTypes.js";
import { createTestDatabase, startPostgres } from "../packages/testing/src/index.js";

const VARIANTS = ["hex", "convert_to", "binary"] as const;
type Variant = (typeof VARIANTS)[number];
const PAYLOADS = [0, 1024, 100 * 1024];
const BATCH = 100;

function sqlOf(variant: Variant): string {
  const sql = upsertSql("public");
  if (variant !== "convert_to") return sql;
  return sql
    .replace("$6::bytea[], $7::bytea[]", "$6::text[], $7::text[]")
    .replace(
      "u.name, u.args, u.kwargs,",
      "u.name, convert_to(u.args, 'UTF8'), convert_to(u.kwargs, 'UTF8'),",
    );
}

function paramsOf(variant: Variant, outcomes: TaskOutcome[]): unknown[] {
  const rows = outcomes.map((o) => encodeOutcome(o, "bench@host"));
  if (variant === "binary") return [...upsertParams(rows), "bench@host"];
  const columns = columnValues(rows);
  if (variant === "convert_to") {
    for (const i of [5, 6])
      columns[i] = columns[i]!.map((b) => (b as Buffer | null)?.toString("utf8") ?? null);
  }
  return [...columns, "bench@host"];
}

/** user + system CPU seconds of a process, from /proc (10 ms ticks). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(client: pg.Client, backend: number, variant: Variant, payload: number, count: number) {
  const sql = sqlOf(variant);
  const name = `bench_${variant}`;
  const x = "x".repeat(payload);
  const cpu0 = process.cpuUsage();
  const server0 = cpuOf(backend);
  const start = performance.now();
  for (let at = 0; at < count; at += BATCH) {
    const outcomes: TaskOutcome[] = [];
    for (let i = at; i < Math.min(count, at + BATCH); i++) {
      const taskId = `${variant}-${payload}-${i}-${Math.random()}`;
      const args = [i, x];
      outcomes.push({
        taskId,
        name: "bench.noop",
        args,
        kwargs: {},
        retries: 0,
        queue: "q",
        state: "SUCCESS",
        result: null,
      });
    }
    await client.query({ name, text: sql, values: paramsOf(variant, outcomes) });
  }
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return {
    nodeUs: (cpu.user + cpu.system) / count,
    serverUs: ((cpuOf(backend) - server0) * 1e6) / count,
    batchMs: wallMs / Math.ceil(count / BATCH),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchResultParams() {
  let databaseUrl = process.env.DATABASE_URL;
  let server: Awaited<ReturnType<typeof startPostgres>> | undefined;
  if (!databaseUrl) {
    server = await startPostgres();
    databaseUrl = server.url;
  }
  const db = await createTestDatabase(databaseUrl, "benchparams");
  const client = guardedClient({ connectionString: db.url });
  await client.connect();
  const pool = guardedPool({ connectionString: db.url, max: 1 });
  await migrate(pool, { schema: "public" });
  await pool.end();
  const backend = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  const rows = Number(process.env.BENCH_PARAMS_ROWS ?? 10_000);
  const rounds = Number(process.env.BENCH_PARAMS_ROUNDS ?? 3);
  const table: Record<string, string | number>[] = [];
  try {
    for (const payload of PAYLOADS) {
      const count = payload >= 64 * 1024 ? Math.max(BATCH, rows / 10) : rows;
      const runs = new Map<Variant, Awaited<ReturnType<typeof measure>>[]>();
      for (const variant of VARIANTS) await measure(client, backend, variant, payload, BATCH * 2); // warm-up
      for (let round = 0; round < rounds; round++) {
        const order = [...VARIANTS.slice(round % 3), ...VARIANTS.slice(0, round % 3)];
        for (const variant of order) {
          const run = await measure(client, backend, variant, payload, count);
          runs.set(variant, [...(runs.get(variant) ?? []), run]);
        }
        await client.query("TRUNCATE celery_taskmeta");
      }
      for (const variant of VARIANTS) {
        const r = runs.get(variant)!;
        table.push({
          payload,
          variant,
          rows: count,
          "node µs/row": Math.round(median(r.map((x) => x.nodeUs))),
          "postgres µs/row": Math.round(median(r.map((x) => x.serverUs))),
          "ms/batch of 100": Number(median(r.map((x) => x.batchMs)).toFixed(2)),
        });
      }
    }
  } finally {
    await client.end();
    await db.drop();
    await server?.dispose();
  }
  console.table(table);
  return table;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchResultParams();
