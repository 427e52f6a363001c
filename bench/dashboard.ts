/**
 * Dashboard at scale: 1,000,000 tracked tasks with results (100,000 failures, families of 10, a week of
 * history), then the dashboard's own process (`worker-toolbox dashboard`, built) answers the task list, deep
 * pages, filtered searches, the failures grouping and task details. Reports the server-side time of each
 * (the `Server-Timing` header: query + rendering, no network) and the dashboard process's RSS.
 *
 *   BENCH_ONLY=dashboard npm run bench      (or: npm run build && npx tsx bench/dashboard.ts)
 * env: BENCH_DASHBOARD_TASKS (1000000), BENCH_DASHBOARD_SAMPLES (20 per request)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { guardedPool } from "@worker-toolbox/runtime/results";
import { createTestDatabase, createTestNamespace, startLocalServers } from "@worker-toolbox/testing";
import type pg from "pg";
import { median, round } from "./stats.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const BATCH = 100_000;

export async function benchDashboard(
  total = Number(process.env.BENCH_DASHBOARD_TASKS ?? 1_000_000),
  samples = Number(process.env.BENCH_DASHBOARD_SAMPLES ?? 20),
) {
  // The built CLI runs in one process (from source, its bin re-spawns Node under tsx): that process is measured.
  if (!existsSync(`${root}packages/cli/dist/main.js`)) throw new Error("run `npm run build` first");
  const servers = await startLocalServers();
  const database = await createTestDatabase(servers.databaseUrl, "benchdash");
  const pool = guardedPool({ connectionString: database.url, max: 2 });
  let dashboard: ChildProcess | undefined;
  try {
    const env = {
      ...process.env,
      AMQP_URL: servers.amqpUrl,
      DATABASE_URL: database.url,
      WT_ENVIRONMENT_PREFIX: createTestNamespace("bdash"),
      ...(servers.managementUrl ? { RABBITMQ_MANAGEMENT_URL: servers.managementUrl } : {}),
    };
    await cli(["db", "migrate"], env);
    const loadStarted = Date.now();
    for (let from = 1; from <= total; from += BATCH) {
      await load(pool, from, Math.min(total, from + BATCH - 1), total);
      process.stderr.write(`\r  loaded ${Math.min(total, from + BATCH - 1).toLocaleString("en-US")} tasks`);
    }
    await pool.query("ANALYZE");
    const loadSeconds = (Date.now() - loadStarted) / 1_000;
    process.stderr.write(`\n  load + analyze: ${loadSeconds.toFixed(0)} s\n`);

    dashboard = spawn(
      process.execPath,
      [`${root}packages/cli/bin/worker-toolbox.js`, "dashboard", "--port", "0"],
      {
        env: { ...env, WT_LOG_LEVEL: "warn" },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const url = await new Promise<string>((resolve, reject) => {
      dashboard!.once("exit", (code) => reject(new Error(`dashboard exited ${code}`)));
      dashboard!.stdout!.on("data", (chunk: Buffer) => {
        const match = /Dashboard on (\S+)/.exec(chunk.toString());
        if (match) resolve(match[1]!);
      });
    });
    const { rows } = await pool.query<{ task_id: string }>(
      "SELECT task_id FROM worker_toolbox_tasks WHERE task_id = $1",
      [taskId(Math.floor(total / 2) + 5)],
    );
    const detailId = rows[0]!.task_id;
    const deep = await cursorAfter(url, 2_000);
    const requests: [string, string][] = [
      ["task list, first page (API)", "api/tasks?limit=50"],
      ["task list, first page (HTML)", "tasks"],
      ["task list, page 41 (keyset cursor)", `api/tasks?limit=50&before=${deep}`],
      ["filter: state FAILURE", "api/tasks?state=FAILURE"],
      ["filter: task (all versions) + FAILURE + 7 d", "api/tasks?task=svc2.task3&state=FAILURE&since=7d"],
      ["filter: service + state REVOKED (rare)", "api/tasks?service=svc1&state=REVOKED"],
      ["filter: argument value", `api/tasks?arg=invoice-${Math.floor(total / 3)}`],
      ["filter: kwarg user_id=42 (200 matches)", "api/tasks?arg=user_id%3D42"],
      ["failures grouped, 24 h", "api/failures?window=24h"],
      [`failures grouped, 7 d (${(total / 10).toLocaleString("en-US")} failures)`, "api/failures?window=7d"],
      ["failures page, 7 d (HTML)", "failures?window=7d"],
      ["task detail (API)", `api/tasks/${detailId}`],
      ["task detail (HTML)", `tasks/${detailId}`],
      ["overview (HTML, broker + 1 h / 24 h rates)", ""],
    ];
    const results: { request: string; medianMs: number; p95Ms: number; maxMs: number }[] = [];
    for (const [name, path] of requests) {
      const times: number[] = [];
      for (let i = 0; i < samples + 3; i++) {
        const ms = await serverTime(url, path);
        if (i >= 3) times.push(ms);
      }
      times.sort((a, b) => a - b);
      const row = {
        request: name,
        medianMs: round(median(times)),
        p95Ms: round(times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]!),
        maxMs: round(times[times.length - 1]!),
      };
      results.push(row);
      console.log(`  ${name.padEnd(48)} median ${row.medianMs} ms  p95 ${row.p95Ms} ms  max ${row.maxMs} ms`);
    }
    const memory = rssOf(dashboard.pid!);
    console.log(`  dashboard process: RSS ${memory.rssMb} MB now, peak ${memory.peakMb} MB`);
    return { tasks: total, failures: Math.floor(total / 10), loadSeconds, results, ...memory };
  } finally {
    dashboard?.kill("SIGTERM");
    await pool.end();
    await database.drop().catch(() => undefined);
    await servers.stop();
  }
}

const taskId = (i: number) => `t${String(i).padStart(8, "0")}`;

/**
 * Tasks `from..to` of `total`: 5 services x 4 tasks x 2 versions, a week of history (the newest now),
 * families of 10 (each task the child of the one before), one in ten a FAILURE (4 error classes x 7
 * messages), one in a thousand REVOKED, the rest SUCCESS. Written by the tables' own triggers and indexes.
 */
async function load(pool: pg.Pool, from: number, to: number, total: number): Promise<void> {
  const spreadMs = (7 * 86_400_000) / total;
  await pool.query(
    `INSERT INTO worker_toolbox_tasks (task_id, name, args, kwargs, parent_id, root_id, queue, created_at, updated_at)
     SELECT 't' || lpad(i::text, 8, '0'),
            'svc' || (i % 5) || '.task' || (i % 4) || '.v' || (1 + i % 2),
            jsonb_build_array('invoice-' || i, i % 1000),
            jsonb_build_object('user_id', i % 5000, 'options', jsonb_build_object('format', CASE WHEN i % 3 = 0 THEN 'pdf' ELSE 'csv' END)),
            CASE WHEN i % 10 <> 0 THEN 't' || lpad((i - 1)::text, 8, '0') END,
            't' || lpad((i - i % 10)::text, 8, '0'),
            'bench.svc' || (i % 5),
            now() - ($3 - i) * make_interval(secs => $4::float8 / 1000),
            now() - ($3 - i) * make_interval(secs => $4::float8 / 1000)
       FROM generate_series($1::int, $2::int) AS i`,
    [from, to, total, spreadMs],
  );
  await pool.query(
    `INSERT INTO celery_taskmeta (id, task_id, status, date_done, name, worker, retries, result_json, error,
                                  traceback, started_at, updated_at, parent_id, root_id)
     SELECT nextval('task_id_sequence'), k.task_id, s.status,
            (k.created_at + interval '80 ms') AT TIME ZONE 'UTC', k.name, 'svc' || (i % 5) || '@bench', 0,
            CASE WHEN s.status = 'SUCCESS' THEN jsonb_build_object('rows', i % 100) END,
            CASE WHEN s.status = 'FAILURE' THEN jsonb_build_object(
              'type', (ARRAY['TimeoutError', 'ValueError', 'PaymentError', 'KeyError'])[1 + i % 4],
              'message', 'upstream answered ' || (500 + i % 7), 'module', 'builtins') END,
            CASE WHEN s.status = 'FAILURE' THEN 'Traceback (most recent call last):\n  ...\nError' END,
            k.created_at + interval '5 ms', k.created_at + interval '80 ms', k.parent_id, k.root_id
       FROM generate_series($1::int, $2::int) AS i
       JOIN worker_toolbox_tasks k ON k.task_id = 't' || lpad(i::text, 8, '0')
       CROSS JOIN LATERAL (SELECT CASE WHEN i % 10 = 3 THEN 'FAILURE' WHEN i % 1000 = 7 THEN 'REVOKED'
                                       ELSE 'SUCCESS' END AS status) s`,
    [from, to],
  );
}

async function serverTime(url: string, path: string): Promise<number> {
  const response = await fetch(new URL(path, url));
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`GET /${path} answered ${response.status}`);
  const header = response.headers.get("server-timing") ?? "";
  const dur = /total;dur=([\d.]+)/.exec(header)?.[1];
  if (!dur) throw new Error(`GET /${path} has no Server-Timing total: "${header}"`);
  return Number(dur);
}

/** The `next` cursor after `rows` rows of the unfiltered list (to measure a deep page). */
async function cursorAfter(url: string, rows: number): Promise<string> {
  let before = "";
  for (let seen = 0; seen < rows; seen += 500) {
    const page = (await (
      await fetch(new URL(`api/tasks?limit=500${before ? `&before=${before}` : ""}`, url))
    ).json()) as {
      next: string;
    };
    before = page.next;
  }
  return before;
}

function rssOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb("VmRSS") / 1024), peakMb: Math.round(kb("VmHWM") / 1024) };
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${root}packages/cli/bin/worker-toolbox.js`, ...args], {
      env,
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`worker-toolbox ${args[0]} exited ${code}`)),
    );
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchDashboard(), null, 2));
}
