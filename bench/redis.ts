/**
 * A throwaway Redis for the benchmarks that compare against BullMQ (a bench dependency only: nothing in the
 * toolbox uses Redis). Durable as BullMQ's documentation asks for production: the append-only file with
 * `appendfsync everysec`, `maxmemory-policy noeviction`; no RDB snapshots. Installed from Debian's packages
 * when missing (`apt-get install redis-server`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getFreePort } from "@worker-toolbox/testing";

export interface RedisServer {
  host: string;
  port: number;
  pid: number;
  /** Remove every key (between runs, so one system's jobs do not fill the next one's memory). */
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

const SERVER = "/usr/bin/redis-server";

/** Install redis-server from apt when it is missing; false (after saying why) when that fails. */
export function ensureRedisInstalled(): boolean {
  if (existsSync(SERVER)) return true;
  console.log("redis-server is missing: installing it from Debian's packages (apt-get install redis-server)");
  const install = () =>
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "redis-server"], {
      stdio: "inherit",
    });
  try {
    try {
      install();
    } catch {
      execFileSync("apt-get", ["update"], { stdio: "inherit" }); // a fresh machine has no package lists yet
      install();
    }
  } catch (error) {
    console.warn(`could not install redis-server (${(error as Error).message}); BullMQ is left out`);
    return false;
  }
  return existsSync(SERVER);
}

/** One command in Redis's inline protocol; resolves with the first reply line. */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write(`${line}\r\n`));
    socket.once("data", (data) => {
      socket.end();
      resolve(data.toString().split("\r\n")[0] ?? "");
    });
    socket.once("error", reject);
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await getFreePort();
  const dir = mkdtempSync(join(tmpdir(), "wt-bench-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push("--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction");
  const child: ChildProcess = spawn(SERVER, args, { stdio: ["ignore", "ignore", "inherit"] });
  const until = Date.now() + 20_000;
  for (;;) {
    const reply = await command(port, "PING").catch(() => "");
    if (reply === "+PONG") break;
    if (child.exitCode !== null || Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${port} did not answer PING (exit ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host: "127.0.0.1",
    port,
    pid: child.pid as number,
    flushAll: async () => {
      await command(port, "FLUSHALL");
    },
    stop: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
