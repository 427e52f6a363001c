import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestDatabase } from "@worker-toolbox/testing";
import { expect, it } from "vitest";
import { testClient } from "../support/database.js";
import { testServers } from "../support/servers.js";

/**
 * An administrator terminating every session of the database (as `DROP DATABASE … WITH (FORCE)` and a
 * test's database drop do) must not crash a process that holds connections: idle ones, one checked out
 * between queries, a standalone client. Each failure is logged; the process keeps running and exits 0.
 */
const script = fileURLToPath(new URL("../fixtures/database/holdConnections.ts", import.meta.url));
const appScript = fileURLToPath(new URL("../fixtures/database/applicationPools.ts", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

/** A fixture process holding connections: `ready` on stdout, then `check()` tells it to query again and exit. */
function startHolder(fixture: string, databaseUrl: string) {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@worker-toolbox/source", fixture], {
    cwd: root,
    env: { ...process.env, WT_TEST_DATABASE_URL: databaseUrl },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    out: () => out,
    err: () => err,
    /** Resolves with its exit code. */
    check: () => {
      child.stdin.write("check\n");
      return exited;
    },
    kill: () => child.kill(),
  };
}

/** The JSON lines a fixture printed: its events and its logger's lines. */
const linesOf = (out: string) =>
  out
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

it("a process whose database sessions are terminated logs each lost connection and does not crash", async () => {
  const admin = testServers().databaseUrl;
  const db = await createTestDatabase(admin, "pool_errors");
  const holder = startHolder(script, db.url);
  try {
    await expect.poll(holder.out, { timeout: 30_000 }).toContain('"event":"ready"');
    const client = testClient({ connectionString: admin });
    await client.connect();
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1) t",
      [db.name],
    );
    await client.end();
    expect(rows[0].n).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await holder.check(), `stderr:\n${holder.err()}`).toBe(0);
  } finally {
    holder.kill();
    await db.drop();
  }
  const logs = linesOf(holder.out()) as { msg?: string; event?: string; again?: string }[];
  const messages = logs.map((entry) => entry.msg).filter(Boolean);
  // The worker pool's idle client, the one checked out, the standalone client.
  expect(messages.filter((msg) => msg === "idle database connection failed")).toHaveLength(1);
  expect(messages).toContain("database connection failed while in use");
  expect(messages).toContain("database connection failed");
  // The CLI's pool had no logger: its warning went to stderr.
  expect(holder.err()).toContain("idle database connection failed");
  expect(holder.err()).not.toMatch(/Unhandled|uncaught/i);
  // The pool replaced its lost clients: the next query ran on a new connection.
  expect(logs.find((entry) => entry.event === "done")?.again).toBe("answered");
});

it("pools an application passes to the result watcher, and the dashboard's LISTEN: one line per lost connection, no crash", async () => {
  const admin = testServers().databaseUrl;
  const db = await createTestDatabase(admin, "app_pools");
  const holder = startHolder(appScript, db.url);
  const terminated: { idle: number; listening: number } = { idle: 0, listening: 0 };
  try {
    await expect.poll(holder.out, { timeout: 30_000 }).toContain('"event":"ready"');
    const client = testClient({ connectionString: admin });
    await client.connect();
    // First the idle connections, then the LISTEN ones: a watcher reconnecting at once is never lent an idle
    // client whose error is still on its way, so each connection's failure lands in one known place.
    const terminate = async (listening: boolean) => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND (query LIKE 'LISTEN%') = $2`,
        [db.name, listening],
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      return rows[0]!.n;
    };
    terminated.idle = await terminate(false);
    terminated.listening = await terminate(true);
    await client.end();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await holder.check(), `stderr:\n${holder.err()}\nstdout:\n${holder.out()}`).toBe(0);
  } finally {
    holder.kill();
    await db.drop();
  }
  const logs = linesOf(holder.out());
  const lines = (msg: string) => logs.filter((entry) => entry.msg === msg);
  const idle = logs.find((entry) => entry.event === "ready")?.idle as Record<string, number>;
  expect(idle).toEqual({ bare: 2, owned: 2, waitedOn: 2, dashboard: 0 });
  expect(terminated).toEqual({ idle: 6, listening: 4 });
  // The pool only waitForResult used: guarded on its first wait, reported on stderr (no logger given).
  expect(holder.err().match(/idle database connection failed/g)).toHaveLength(idle.waitedOn!);
  // The bare pool's idle clients: one line each, from the guard the watcher put on it. The owned pool's:
  // its owner's listener heard them, and no line of ours repeats it.
  expect(lines("idle database connection failed")).toHaveLength(idle.bare!);
  expect(logs.filter((entry) => entry.event === "owner-heard")).toHaveLength(idle.owned!);
  // The four LISTEN connections (two watchers, the dashboard's feed, followResults): one line each, saying
  // what it was for, and no holder adds a line of its own.
  const inUse = lines("database connection failed while in use");
  expect(inUse).toHaveLength(4);
  expect(inUse.filter((entry) => entry.use === "result waits (LISTEN)")).toHaveLength(2);
  expect(inUse.filter((entry) => entry.use === "following results (LISTEN)")).toHaveLength(1);
  expect(lines("cannot show task results")).toEqual([]);
  expect(inUse.filter((entry) => entry.use === "dashboard live updates (LISTEN)")).toEqual([
    expect.objectContaining({
      next: "reconnecting in 1 s",
      err: expect.stringMatching(/administrator command/),
    }),
  ]);
  expect(logs.filter((entry) => String(entry.msg).includes("LISTEN"))).toEqual([]);
  expect(holder.err()).not.toMatch(/Unhandled|uncaught/i);
  // Both watchers listen again: a result written after the kill reached each wait.
  expect(logs.find((entry) => entry.event === "done")?.statuses).toEqual(["SUCCESS", "SUCCESS"]);
});
