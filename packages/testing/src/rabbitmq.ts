import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import amqp from "amqplib";
import { serverFailed } from "./failure.js";
import { getFreePorts } from "./ports.js";
import { delay, runCommand, spawnServer, stopGroup, trackDir, untrackGroup } from "./processes.js";
import { type ServerLifecycle, startServerLifecycle } from "./serverLifecycle.js";

export interface StartRabbitMQOptions {
  /** Directory holding `rabbitmq-server` and `rabbitmqctl`; found automatically when omitted. */
  binDir?: string;
  /** Erlang node name; default `wt-<random>@localhost`. */
  nodeName?: string;
  /** How long one start may take before it fails; default 90 s. */
  startTimeoutMs?: number;
  /**
   * Keep config, data and logs here instead of in a temp dir; nothing removes it. A later start with the
   * same dir and `nodeName` finds its queues and messages again (`worker-toolbox dev`).
   */
  dir?: string;
  /** The node outlives this process: it is not killed at exit (stop it with stop(), or by its pids). */
  keep?: boolean;
  /**
   * Cluster membership (rabbitmqCluster.ts): the port of an epmd the cluster runs for all its nodes (else
   * the node starts a private one), the Erlang cookie they share, and the nodes to join on first boot.
   */
  cluster?: { epmdPort: number; cookie: string; peers: readonly string[] };
  /**
   * Also listen for AMQP over TLS (`tlsUrl`) with this PEM certificate and key (signed by `caFile`). Client
   * certificates are not asked for.
   */
  tls?: { caFile: string; certFile: string; keyFile: string };
  /** More `rabbitmq.conf` lines, e.g. `consumer_timeout = 2000`. */
  conf?: readonly string[];
  /**
   * The `rabbit` application's settings that only `advanced.config` takes, as Erlang terms, e.g.
   * `{channel_tick_interval, 200}` (how often a channel checks its consumer_timeout; 60 s by default).
   */
  rabbitAdvanced?: readonly string[];
}

/** A throwaway node; start/stop/kill/restart/dispose as every test server (ServerLifecycle). */
export interface RabbitMQServer extends ServerLifecycle {
  /** `amqp://guest:guest@127.0.0.1:<port>/` */
  readonly url: string;
  /** `amqps://guest:guest@127.0.0.1:<port>/` when started with `tls`. */
  readonly tlsUrl: string | undefined;
  /** `http://guest:guest@127.0.0.1:<port>/` (management plugin) */
  readonly managementUrl: string;
  readonly nodeName: string;
  /** Temp dir with config, data (mnesia), logs and the private HOME. */
  readonly dir: string;
  readonly ports: { amqp: number; management: number; dist: number; epmd: number; amqps?: number };
  /** The node's private epmd (its own process group) while it runs. */
  readonly epmdPid: number | undefined;
  /**
   * Run `rabbitmqctl` against this node (e.g. `set_vm_memory_high_watermark 0` to raise a memory alarm
   * that blocks publishers); rejects with the command's output when it fails.
   */
  rabbitmqctl(args: string[]): Promise<string>;
}

const INSTALL_HINT =
  "install RabbitMQ: `apt-get install rabbitmq-server` (or run scripts/bootstrap.sh), " +
  "or point AMQP_URL at a running broker";

export function findRabbitMQBinDir(binDir?: string): string | undefined {
  if (binDir) return existsSync(join(binDir, "rabbitmq-server")) ? binDir : undefined;
  const candidates = [
    "/usr/lib/rabbitmq/bin",
    // /usr/sbin/rabbitmq-server on Debian is a wrapper that switches to the rabbitmq user: skip it.
    ...(process.env.PATH ?? "").split(delimiter).filter((dir) => dir !== "/usr/sbin"),
  ];
  return candidates.find((dir) => dir && existsSync(join(dir, "rabbitmq-server")));
}

export function findEpmd(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/lib/erlang/bin"];
  const dir = dirs.find((d) => d && existsSync(join(d, "epmd")));
  return dir ? join(dir, "epmd") : undefined;
}

/** Environment for the node and for rabbitmqctl, free of any RABBITMQ_* / ERL_* the caller had. */
function nodeEnv(dir: string, nodeName: string, ports: RabbitMQServer["ports"]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(RABBITMQ_|ERL_)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    // The Erlang cookie lives in $HOME: a private one keeps this node apart from any other.
    HOME: join(dir, "home"),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(ports.amqp),
    RABBITMQ_DIST_PORT: String(ports.dist),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq.conf"),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, "advanced.config"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_PID_FILE: join(dir, "rabbitmq.pid"),
    // Inter-node (distribution) traffic on loopback only, like the AMQP and HTTP listeners.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
    // A private epmd, so nothing is left registered with (or started as) the shared one.
    ERL_EPMD_PORT: String(ports.epmd),
    ERL_EPMD_ADDRESS: "127.0.0.1",
  };
}

function writeConfig(
  dir: string,
  ports: RabbitMQServer["ports"],
  {
    cluster,
    tls,
    conf = [],
    rabbitAdvanced = [],
  }: Pick<StartRabbitMQOptions, "cluster" | "tls" | "conf" | "rabbitAdvanced">,
): void {
  for (const sub of ["home", "mnesia", "log"]) mkdirSync(join(dir, sub), { recursive: true });
  if (cluster) {
    // Every node of a cluster, and rabbitmqctl talking to it, needs the same cookie (read from $HOME).
    writeFileSync(join(dir, "home", ".erlang.cookie"), cluster.cookie, { mode: 0o400 });
  }
  writeFileSync(
    join(dir, "rabbitmq.conf"),
    [
      `listeners.tcp.1 = 127.0.0.1:${ports.amqp}`,
      ...(tls && ports.amqps
        ? [
            `listeners.ssl.1 = 127.0.0.1:${ports.amqps}`,
            `ssl_options.cacertfile = ${tls.caFile}`,
            `ssl_options.certfile = ${tls.certFile}`,
            `ssl_options.keyfile = ${tls.keyFile}`,
            "ssl_options.verify = verify_none",
            "ssl_options.fail_if_no_peer_cert = false",
          ]
        : []),
      "management.tcp.ip = 127.0.0.1",
      `management.tcp.port = ${ports.management}`,
      // guest may connect over 127.0.0.1 (a loopback-only throwaway node).
      "loopback_users = none",
      // A fresh node joins the listed peers that are up (the first node finds none and forms the cluster).
      ...(cluster && cluster.peers.length > 0
        ? [
            "cluster_formation.peer_discovery_backend = classic_config",
            ...cluster.peers.map((peer, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${peer}`),
          ]
        : []),
      ...conf,
      "",
    ].join("\n"),
  );
  const advanced = rabbitAdvanced.length > 0 ? `[{rabbit, [${rabbitAdvanced.join(", ")}]}].` : "[].";
  writeFileSync(join(dir, "advanced.config"), `${advanced}\n`);
  writeFileSync(join(dir, "enabled_plugins"), "[rabbitmq_management].\n");
}

/** Erlang's port mapper on loopback, in its own process group. */
export function startEpmd(
  epmdBin: string,
  port: number,
  env: NodeJS.ProcessEnv,
  logFile: string,
  keep?: boolean,
): ChildProcess {
  return spawnServer(epmdBin, ["-port", String(port), "-address", "127.0.0.1"], { env, logFile, keep });
}

/** Start a throwaway RabbitMQ node on loopback with everything in a temp dir. */
export async function startRabbitMQ(options: StartRabbitMQOptions = {}): Promise<RabbitMQServer> {
  const binDir = findRabbitMQBinDir(options.binDir);
  if (!binDir) {
    throw serverFailed("cannot start a test RabbitMQ: `rabbitmq-server` was not found", {
      hint: INSTALL_HINT,
    });
  }
  const epmdBin = findEpmd();
  if (!epmdBin) {
    throw serverFailed("cannot start a test RabbitMQ: Erlang's `epmd` was not found", { hint: INSTALL_HINT });
  }
  const free = await getFreePorts((options.cluster ? 3 : 4) + (options.tls ? 1 : 0));
  const amqps = options.tls ? free.pop() : undefined;
  const [amqpPort, managementPort, distPort, ownEpmdPort] = free as [
    number,
    number,
    number,
    number | undefined,
  ];
  const epmdPort = options.cluster?.epmdPort ?? ownEpmdPort!;
  const ports = { amqp: amqpPort, management: managementPort, dist: distPort, epmd: epmdPort, amqps };
  const nodeName = options.nodeName ?? `wt-${randomBytes(4).toString("hex")}@localhost`;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "wt-rabbitmq-"));
  if (options.dir) mkdirSync(dir, { recursive: true });
  else if (!options.keep) trackDir(dir);
  writeConfig(dir, ports, options);
  const env = nodeEnv(dir, nodeName, ports);
  const serverLog = join(dir, "server.out");
  const nodeLog = join(dir, "log", `${nodeName}.log`);
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const url = `amqp://guest:guest@127.0.0.1:${ports.amqp}/`;
  const ctl = (args: string[], timeoutMs = 30_000) =>
    runCommand(join(binDir, "rabbitmqctl"), ["-n", nodeName, ...args], { env, timeoutMs });

  const name = `test RabbitMQ node ${nodeName}`;
  let epmd: ChildProcess | undefined;

  const awaitReady = (exited: () => string | undefined) =>
    awaitNodeReady(
      { name, dir, logs: [serverLog, nodeLog], startTimeoutMs, ctl, url, amqpPort: ports.amqp },
      exited,
    );

  const lifecycle = await startServerLifecycle({
    name,
    dir,
    keepDir: options.dir !== undefined,
    dataDir: join(dir, "mnesia"),
    spawn: () => {
      if (!options.cluster) epmd ??= startEpmd(epmdBin, ports.epmd, env, join(dir, "epmd.out"), options.keep);
      return spawnServer(join(binDir, "rabbitmq-server"), [], {
        env,
        logFile: serverLog,
        cwd: dir,
        keep: options.keep,
      });
    },
    awaitReady,
    // SIGTERM to the wrapper script makes it stop the node gracefully (rabbitmq-server's own trap).
    stopSignal: "SIGTERM",
    stopGraceMs: 60_000,
    afterKill: async () => {
      if (!epmd?.pid) return;
      await stopGroup(epmd, "SIGTERM", 2_000);
      untrackGroup(epmd.pid);
      epmd = undefined;
    },
  });

  // A getter, not a value: Object.assign would copy what it returns now.
  Object.defineProperty(lifecycle, "epmdPid", { get: () => epmd?.pid, enumerable: true });
  return Object.assign(lifecycle as ServerLifecycle & { readonly epmdPid: number | undefined }, {
    url,
    tlsUrl: amqps ? `amqps://guest:guest@127.0.0.1:${amqps}/` : undefined,
    managementUrl: `http://guest:guest@127.0.0.1:${ports.management}/`,
    nodeName,
    dir,
    ports,
    async rabbitmqctl(args: string[]) {
      const result = await ctl(args);
      if (result.code !== 0)
        throw serverFailed(`rabbitmqctl ${args.join(" ")} failed: ${result.output.trim()}`);
      return result.output;
    },
  });
}

interface NodeStart {
  name: string;
  dir: string;
  logs: string[];
  startTimeoutMs: number;
  ctl: (args: string[], timeoutMs?: number) => Promise<{ code: number | null; output: string }>;
  url: string;
  amqpPort: number;
}

/** Wait until the node has booted (rabbitmqctl await_startup) and its AMQP listener accepts guest. */
async function awaitNodeReady(node: NodeStart, exited: () => string | undefined): Promise<void> {
  const { name, dir, logs, startTimeoutMs, ctl } = node;
  const deadline = Date.now() + startTimeoutMs;
  let lastOutput = "";
  // await_startup fails fast while the node is not yet registered with epmd: poll it.
  for (;;) {
    const how = exited();
    if (how) throw serverFailed(`${name} ${how} while starting (dir ${dir})`, { logs });
    if (Date.now() > deadline) {
      throw serverFailed(`${name} did not start within ${startTimeoutMs} ms (dir ${dir})\n${lastOutput}`, {
        logs,
        hint: "raise startTimeoutMs on a slow machine, or look at the log below",
      });
    }
    const remaining = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    const result = await ctl(["await_startup", "--timeout", String(remaining)], (remaining + 10) * 1000);
    lastOutput = result.output.trim();
    if (result.code === 0) break;
    await delay(250);
  }
  // The node is booted; make sure the AMQP listener really accepts guest.
  for (;;) {
    try {
      const connection = await amqp.connect(node.url);
      await connection.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw serverFailed(`${name} booted but refuses AMQP on ${node.amqpPort}`, { logs, cause: error });
      }
      await delay(200);
    }
  }
}
