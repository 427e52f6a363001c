import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getFreePort } from "@worker-toolbox/testing";
import { pingPostgres } from "../../packages/testing/src/database.js";
// The same process-group and temp-dir tracking as the throwaway servers: nothing outlives the test process.
import {
  spawnServer,
  stopGroup,
  trackDir,
  untrackDir,
  untrackGroup,
} from "../../packages/testing/src/processes.js";

export interface PgBouncer {
  /** A URL like the upstream's, through PgBouncer (database `upstream`). */
  readonly url: string;
  stop(): Promise<void>;
}

const BINARY = "/usr/sbin/pgbouncer";

/**
 * A throwaway PgBouncer on loopback in front of `upstreamUrl`, in transaction pooling mode with ONE server
 * connection: every client's transactions share it, which is what makes a pooler's effect on session state
 * (prepared statements) certain rather than a matter of luck. Installed by scripts/bootstrap.sh.
 */
export async function startPgBouncer(upstreamUrl: string): Promise<PgBouncer> {
  if (!existsSync(BINARY)) {
    throw new Error(`no ${BINARY}: run scripts/bootstrap.sh (it installs Debian's pgbouncer package)`);
  }
  const upstream = new URL(upstreamUrl);
  const port = await getFreePort();
  const dir = mkdtempSync(join(tmpdir(), "wt-pgbouncer-"));
  trackDir(dir);
  const log = join(dir, "pgbouncer.log");
  const database = [
    `host=${upstream.hostname}`,
    `port=${upstream.port}`,
    `dbname=${upstream.pathname.slice(1)}`,
    `user=${decodeURIComponent(upstream.username)}`,
    `password=${decodeURIComponent(upstream.password)}`,
  ].join(" ");
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `upstream = ${database}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      // Clients are not authenticated (loopback, throwaway); the server login is the [databases] line's.
      "auth_type = any",
      "pool_mode = transaction",
      "default_pool_size = 1",
      "max_client_conn = 50",
      `logfile = ${log}`,
      `pidfile = ${join(dir, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
  );
  // PgBouncer refuses to run as root: as root, run it as the postgres OS user, which then owns its dir.
  let user: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    const [, , uid, gid] =
      readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((line) => line.startsWith("postgres:"))
        ?.split(":") ?? [];
    user = { uid: Number(uid), gid: Number(gid) };
    for (const path of [dir, join(dir, "pgbouncer.ini")]) chownSync(path, user.uid, user.gid);
  }
  const child = spawnServer(BINARY, [join(dir, "pgbouncer.ini")], {
    env: process.env,
    logFile: join(dir, "pgbouncer.out"),
    ...user,
  });
  const url = `postgres://bouncer@127.0.0.1:${port}/upstream`;
  const stop = async () => {
    await stopGroup(child, "SIGTERM", 5_000);
    if (child.pid) untrackGroup(child.pid);
    rmSync(dir, { recursive: true, force: true });
    untrackDir(dir);
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const error = await pingPostgres(url);
    if (!error) return { url, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      const logged = [log, join(dir, "pgbouncer.out")]
        .map((file) => (existsSync(file) ? readFileSync(file, "utf8").slice(-2000) : ""))
        .join("\n");
      await stop();
      throw new Error(`PgBouncer did not start: ${error.message}\n${logged}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
