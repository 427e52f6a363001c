import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pingPostgres } from "./database.js";
import { serverFailed } from "./failure.js";
import { getFreePort } from "./ports.js";
import { delay, runCommand, spawnServer, trackDir, untrackDir } from "./processes.js";
import { type ServerLifecycle, startServerLifecycle } from "./serverLifecycle.js";

export interface StartPostgresOptions {
  /** Directory holding `initdb` and `postgres`; default: the newest /usr/lib/postgresql/<v>/bin. */
  binDir?: string;
  /** How long one start may take before it fails; default 60 s. */
  startTimeoutMs?: number;
  /**
   * Keep the cluster here instead of in a temp dir; nothing removes it. A later start with the same dir
   * reuses the cluster (no initdb) and its password (`worker-toolbox dev`). Run as root, the `postgres`
   * OS user must be able to reach it.
   */
  dir?: string;
  /** The server outlives this process: it is not killed at exit (stop it with stop(), or by its pid). */
  keep?: boolean;
}

/**
 * A throwaway cluster; start/stop/kill/restart/dispose as every test server (ServerLifecycle). stop() is
 * PostgreSQL's fast shutdown (SIGINT); kill() SIGKILLs the postmaster and its backends.
 */
export interface PostgresServer extends ServerLifecycle {
  /** `postgres://postgres:<generated password>@127.0.0.1:<port>/postgres` (superuser). */
  readonly url: string;
  readonly port: number;
  /** Temp dir with the cluster (`data/`), the socket and the log. */
  readonly dir: string;
}

const INSTALL_HINT =
  "install PostgreSQL: `apt-get install postgresql`, or point DATABASE_URL at a running server";

export function findPostgresBinDir(binDir?: string): string | undefined {
  if (binDir) return existsSync(join(binDir, "initdb")) ? binDir : undefined;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions[0]) return join(root, versions[0], "bin");
  return (process.env.PATH ?? "").split(delimiter).find((dir) => dir && existsSync(join(dir, "initdb")));
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` OS user instead. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (!uid || !gid) {
    throw serverFailed("cannot start a test PostgreSQL as root: there is no `postgres` OS user", {
      hint: "install the postgresql package (it creates the user) or run the tests as a non-root user",
    });
  }
  return { uid: Number(uid), gid: Number(gid) };
}

interface InitOptions {
  binDir: string;
  dir: string;
  data: string;
  password: string;
  env: NodeJS.ProcessEnv;
  startTimeoutMs: number;
  user: { uid: number; gid: number } | undefined;
  /** The dir is a temp dir of ours: removed when initdb fails. */
  temp: boolean;
}

/** initdb: password auth over TCP (tests use least-privilege roles); trust only on the private socket. */
async function initCluster(options: InitOptions): Promise<void> {
  const { dir, data, user } = options;
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  const init = await runCommand(
    join(options.binDir, "initdb"),
    ["-D", data, "-U", "postgres", `--pwfile=${pwfile}`, "--auth-local=trust"].concat([
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]),
    { env: options.env, timeoutMs: options.startTimeoutMs, ...user },
  );
  rmSync(pwfile, { force: true });
  if (init.code !== 0) {
    if (options.temp) {
      rmSync(dir, { recursive: true, force: true });
      untrackDir(dir);
    } else rmSync(data, { recursive: true, force: true });
    throw serverFailed(`initdb failed (code ${init.code}) in ${data}:\n${init.output.trim().slice(-2000)}`);
  }
}

/** Initialise a throwaway cluster in a temp dir and start it on 127.0.0.1 and a free port. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const binDir = findPostgresBinDir(options.binDir);
  if (!binDir) {
    throw serverFailed("cannot start a test PostgreSQL: `initdb` was not found", { hint: INSTALL_HINT });
  }
  const user = serverUser();
  const port = await getFreePort();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "wt-postgres-"));
  if (options.dir) mkdirSync(dir, { recursive: true, mode: 0o700 });
  else if (!options.keep) trackDir(dir);
  const data = join(dir, "data");
  const log = join(dir, "postgres.log");
  // A kept cluster keeps its superuser password next to it (readable by its owner only).
  const passwordFile = join(dir, "superuser-password");
  const existing = options.dir && existsSync(join(data, "PG_VERSION"));
  const password = existing ? readFileSync(passwordFile, "utf8").trim() : randomBytes(12).toString("hex");
  if (options.dir && !existing) writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (!existsSync(log)) writeFileSync(log, "");
  if (user) for (const path of [dir, log]) chownSync(path, user.uid, user.gid);
  const env = { ...process.env, LC_ALL: "C", PGTZ: "UTC" };
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  if (!existing)
    await initCluster({ binDir, dir, data, password, env, startTimeoutMs, user, temp: !options.dir });

  const name = `test PostgreSQL on port ${port}`;
  const args = ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"];
  // No fsync for a throwaway cluster: the OS does not crash under a test (a kept one keeps it). Either way
  // synchronous_commit stays on, so a commit survives kill() as it would survive a real server crash
  // (fault-injection tests rely on it).
  const durability = options.dir ? [] : ["fsync=off", "full_page_writes=off"];
  for (const setting of [...durability, "max_connections=200"]) args.push("-c", setting);

  const awaitReady = async (exited: () => string | undefined): Promise<void> => {
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const how = exited();
      if (how) throw serverFailed(`${name} ${how} while starting (dir ${dir})`, { logs: [log] });
      const error = await pingPostgres(url);
      if (!error) return;
      if (Date.now() > deadline) {
        throw serverFailed(`${name} did not accept connections in time`, { logs: [log], cause: error });
      }
      await delay(100);
    }
  };

  const lifecycle = await startServerLifecycle({
    name,
    dir,
    dataDir: data,
    keepDir: options.dir !== undefined,
    spawn: () =>
      spawnServer(join(binDir, "postgres"), args, {
        env,
        logFile: log,
        cwd: dir,
        keep: options.keep,
        ...user,
      }),
    awaitReady,
    // SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
    stopSignal: "SIGINT",
    stopGraceMs: 30_000,
  });
  return Object.assign(lifecycle, { url, port, dir });
}
