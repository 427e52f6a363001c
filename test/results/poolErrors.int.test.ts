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
const root = fileURLToPath(new URL("../../", import.meta.url));

it("a process whose database sessions are terminated logs each lost connection and does not crash", async () => {
  const admin = testServers().databaseUrl;
  const db = await createTestDatabase(admin, "pool_errors");
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@worker-toolbox/source", script], {
    cwd: root,
    env: { ...process.env, WT_TEST_DATABASE_URL: db.url },
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
  try {
    await expect.poll(() => out, { timeout: 30_000 }).toContain('"event":"ready"');
    const client = testClient({ connectionString: admin });
    await client.connect();
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1) t",
      [db.name],
    );
    await client.end();
    expect(rows[0].n).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    child.stdin.write("check\n");
    expect(await exited, `stderr:\n${err}`).toBe(0);
  } finally {
    child.kill();
    await db.drop();
  }
  const logs = out
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg?: string; event?: string; again?: string });
  const messages = logs.map((entry) => entry.msg).filter(Boolean);
  // The worker pool's idle client, the one checked out, the standalone client.
  expect(messages.filter((msg) => msg === "idle database connection failed")).toHaveLength(1);
  expect(messages).toContain("database connection failed while in use");
  expect(messages).toContain("database connection failed");
  // The CLI's pool had no logger: its warning went to stderr.
  expect(err).toContain("idle database connection failed");
  expect(err).not.toMatch(/Unhandled|uncaught/i);
  // The pool replaced its lost clients: the next query ran on a new connection.
  expect(logs.find((entry) => entry.event === "done")?.again).toBe("answered");
});
