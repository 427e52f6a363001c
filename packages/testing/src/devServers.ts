import { createHash, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { guardedClient } from "@worker-toolbox/runtime/results";
import amqp from "amqplib";
import { pingPostgres } from "./database.js";
import { serverFailed } from "./failure.js";
import { type PostgresServer, startPostgres } from "./postgres.js";
import { delay, startTime, stopKeptGroup } from "./processes.js";
import { type RabbitMQServer, startRabbitMQ } from "./rabbitmq.js";

/*
 * The RabbitMQ node and PostgreSQL cluster `worker-toolbox dev` runs against. The first `dev` starts them
 * with their data in a per-user state directory and leaves them running; every later `dev` finds them in
 * the state file and reuses them while they answer, so a restart costs a ping, not a broker boot. Servers
 * that stopped (a reboot) start again on the same data. `stopDevServers` stops them.
 */

export type DevServerOrigin = "started" | "reused";

export interface DevServers {
  /** `amqp://guest:guest@127.0.0.1:<port>/` */
  amqpUrl: string;
  managementUrl: string;
  /** The cluster's superuser on the `worker_toolbox` database (created on first use) for results. */
  databaseUrl: string;
  rabbitmq: DevServerOrigin;
  postgres: DevServerOrigin;
  stateDir: string;
}

export interface DevServerOptions {
  /** Default devStateDir(). */
  stateDir?: string;
  /** Told what happens while servers start (they take seconds). */
  onProgress?: (text: string) => void;
}

/** A process group a kept server runs in: its leader and the leader's start time (tells it from a reuse). */
interface KeptGroup {
  pid: number;
  startedAt: string;
}

interface RabbitRecord {
  url: string;
  managementUrl: string;
  nodeName: string;
  groups: KeptGroup[];
}

interface PostgresRecord {
  url: string;
  dir: string;
  groups: KeptGroup[];
}

interface StateFile {
  rabbitmq?: RabbitRecord;
  postgres?: PostgresRecord;
}

/** `$XDG_STATE_HOME/worker-toolbox/dev`, else `~/.local/state/worker-toolbox/dev`. */
export function devStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(base, "worker-toolbox", "dev");
}

/** Reuse the kept dev servers that answer; start (on their old data) those that do not. */
export async function startDevServers(options: DevServerOptions = {}): Promise<DevServers> {
  const stateDir = options.stateDir ?? devStateDir();
  const progress = options.onProgress ?? (() => {});
  return withStateLock(stateDir, async () => {
    const state = readState(stateDir);
    const [rabbitmqOutcome, postgresOutcome] = await Promise.allSettled([
      ensureRabbitMQ(stateDir, state.rabbitmq, progress),
      ensurePostgres(stateDir, state.postgres, progress),
    ]);
    // Whatever started is recorded even when the other failed: it keeps running, and must be found again.
    const settled = <T>(outcome: PromiseSettledResult<{ record: T }>, old: T | undefined) =>
      outcome.status === "fulfilled" ? outcome.value.record : old;
    writeState(stateDir, {
      ...optional("rabbitmq", settled(rabbitmqOutcome, state.rabbitmq)),
      ...optional("postgres", settled(postgresOutcome, state.postgres)),
    });
    if (rabbitmqOutcome.status === "rejected") throw rabbitmqOutcome.reason;
    if (postgresOutcome.status === "rejected") throw postgresOutcome.reason;
    const rabbitmq = rabbitmqOutcome.value;
    const postgres = postgresOutcome.value;
    return {
      amqpUrl: rabbitmq.record.url,
      managementUrl: rabbitmq.record.managementUrl,
      databaseUrl: await ensureDatabase(postgres.record.url, DEV_DATABASE),
      rabbitmq: rabbitmq.origin,
      postgres: postgres.origin,
      stateDir,
    };
  });
}

/** Stop the kept dev servers (their data stays, unless `removeData`); names what was running. */
export async function stopDevServers(
  options: { stateDir?: string; removeData?: boolean } = {},
): Promise<string[]> {
  const stateDir = options.stateDir ?? devStateDir();
  return withStateLock(stateDir, async () => {
    const state = readState(stateDir);
    const stopped: string[] = [];
    if (state.rabbitmq && (await stopGroups(state.rabbitmq.groups, "SIGTERM", 60_000))) {
      stopped.push(`RabbitMQ ${state.rabbitmq.nodeName}`);
    }
    if (state.postgres && (await stopGroups(state.postgres.groups, "SIGINT", 30_000))) {
      stopped.push(`PostgreSQL in ${state.postgres.dir}`);
    }
    if (options.removeData) {
      if (state.postgres) {
        // The /var/tmp home of a root user's cluster (postgresDir) goes with it.
        const home = dirname(state.postgres.dir);
        const owned = /\/worker-toolbox-dev-[0-9a-f]{12}$/.test(home);
        rmSync(owned ? home : state.postgres.dir, { recursive: true, force: true });
      }
      rmSync(join(stateDir, "rabbitmq"), { recursive: true, force: true });
      rmSync(statePath(stateDir), { force: true });
    } else {
      writeState(stateDir, {
        ...optional("rabbitmq", state.rabbitmq && { ...state.rabbitmq, groups: [] }),
        ...optional("postgres", state.postgres && { ...state.postgres, groups: [] }),
      });
    }
    return stopped;
  });
}

/** The kept servers' URLs while they answer (for `worker-toolbox dev status`). */
export async function devServersStatus(
  options: { stateDir?: string } = {},
): Promise<{ rabbitmq?: string; postgres?: string; running: { rabbitmq: boolean; postgres: boolean } }> {
  const state = readState(options.stateDir ?? devStateDir());
  const [rabbitmq, postgres] = await Promise.all([
    state.rabbitmq ? amqpAnswers(state.rabbitmq.url) : false,
    state.postgres ? pingPostgres(state.postgres.url).then((error) => error === undefined) : false,
  ]);
  return {
    ...(state.rabbitmq ? { rabbitmq: state.rabbitmq.url } : {}),
    ...(state.postgres ? { postgres: state.postgres.url } : {}),
    running: { rabbitmq, postgres },
  };
}

async function ensureRabbitMQ(
  stateDir: string,
  record: RabbitRecord | undefined,
  progress: (text: string) => void,
): Promise<{ record: RabbitRecord; origin: DevServerOrigin }> {
  if (record && record.groups.length > 0 && (await amqpAnswers(record.url))) {
    return { record, origin: "reused" };
  }
  if (record) await stopGroups(record.groups, "SIGKILL", 0); // what is left of a node that stopped answering
  progress("starting RabbitMQ (the first start takes a few seconds)");
  const nodeName = record?.nodeName ?? `wt-dev-${randomBytes(3).toString("hex")}@localhost`;
  const node: RabbitMQServer = await startRabbitMQ({ dir: join(stateDir, "rabbitmq"), nodeName, keep: true });
  return {
    record: {
      url: node.url,
      managementUrl: node.managementUrl,
      nodeName,
      groups: keptGroups([node.pid, node.epmdPid]),
    },
    origin: "started",
  };
}

async function ensurePostgres(
  stateDir: string,
  record: PostgresRecord | undefined,
  progress: (text: string) => void,
): Promise<{ record: PostgresRecord; origin: DevServerOrigin }> {
  if (record && record.groups.length > 0 && (await pingPostgres(record.url)) === undefined) {
    return { record, origin: "reused" };
  }
  if (record) await stopGroups(record.groups, "SIGKILL", 0);
  progress("starting PostgreSQL");
  const dir = record?.dir ?? postgresDir(stateDir);
  const server: PostgresServer = await startPostgres({ dir, keep: true });
  return { record: { url: server.url, dir, groups: keptGroups([server.pid]) }, origin: "started" };
}

function keptGroups(pids: readonly (number | undefined)[]): KeptGroup[] {
  return pids.flatMap((pid) => {
    const startedAt = pid === undefined ? undefined : startTime(pid);
    return pid === undefined || startedAt === undefined ? [] : [{ pid, startedAt }];
  });
}

/** Stop each group; true when any of them was still running. */
async function stopGroups(groups: readonly KeptGroup[], signal: NodeJS.Signals, graceMs: number) {
  let running = false;
  for (const group of groups) {
    if (startTime(group.pid) === group.startedAt) running = true;
    await stopKeptGroup(group.pid, group.startedAt, signal, graceMs);
  }
  return running;
}

/** The database dev servers keep results in: one for every service, as in production. */
const DEV_DATABASE = "worker_toolbox";

/** Create `name` on the server `adminUrl` points at unless it exists; its URL. */
async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = guardedClient({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function amqpAnswers(url: string): Promise<boolean> {
  try {
    const connection = await amqp.connect(url, { timeout: 2_000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the cluster lives: in the state dir, unless this runs as root and the `postgres` OS user (which
 * the server runs as) cannot reach it (a home of mode 0700): then under /var/tmp, one dir per state dir.
 */
function postgresDir(stateDir: string): string {
  const preferred = join(stateDir, "postgres");
  if (process.getuid?.() !== 0 || reachableByOthers(stateDir)) return preferred;
  const id = createHash("sha256").update(stateDir).digest("hex").slice(0, 12);
  const parent = join("/var/tmp", `worker-toolbox-dev-${id}`);
  mkdirSync(parent, { recursive: true, mode: 0o755 });
  return join(parent, "postgres");
}

function reachableByOthers(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) return false;
    } catch {
      // Not created yet: it will be, with the default mode.
    }
    if (dirname(dir) === dir) return true;
  }
}

const statePath = (stateDir: string) => join(stateDir, "servers.json");

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

function readState(stateDir: string): StateFile {
  try {
    return JSON.parse(readFileSync(statePath(stateDir), "utf8")) as StateFile;
  } catch {
    return {};
  }
}

function writeState(stateDir: string, state: StateFile): void {
  // The URLs hold the generated database password: readable by this user only.
  writeFileSync(statePath(stateDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** One `dev` at a time starts or stops the servers (two services started together share them). */
async function withStateLock<T>(stateDir: string, run: () => Promise<T>): Promise<T> {
  // Traversable (the files holding passwords are 0600): run as root, the cluster's server process (user
  // postgres) must reach its data dir below it.
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  const lock = join(stateDir, "lock");
  const deadline = Date.now() + 180_000;
  for (;;) {
    // Written aside, then linked into place: the lock never exists without its holder's pid in it.
    const mine = `${lock}.${process.pid}`;
    writeFileSync(mine, `${process.pid} ${startTime(process.pid) ?? ""}\n`);
    try {
      linkSync(mine, lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const [pid, started] = readFileSync(lock, "utf8").trim().split(" ");
      // A holder that died (or whose number was reused) left the lock behind.
      if (!pid || !started || startTime(Number(pid)) !== started) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw serverFailed(`another worker-toolbox dev (pid ${pid}) holds ${lock} for minutes`, {
          hint: `stop that process, or remove ${lock} if it is gone`,
        });
      }
      await delay(200);
    } finally {
      rmSync(mine, { force: true });
    }
  }
  try {
    return await run();
  } finally {
    rmSync(lock, { force: true });
  }
}
