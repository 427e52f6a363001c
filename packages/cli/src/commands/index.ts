import type { CommandTable } from "./table.js";

/**
 * Every top-level command of `worker-toolbox`, in help order.
 *
 * The table is what `worker-toolbox --help` prints, and it is all a call loads up front: a command's
 * module is imported only when that command runs or its own `--help` is asked for (see lazyCommand in
 * ./table.ts), so no call pays for pg, amqplib or the generator unless it uses them.
 *
 * Adding a command is two steps:
 *   1. `commands/<name>.ts` exports `(ctx: CommandContext) => CommandBody`: the builder (options,
 *      positionals, examples, subcommands) and the handler. The name and the one-line description live
 *      here, not there — the table is their one owner.
 *   2. One entry below: `command` (yargs syntax, positionals included), `describe`, and `load`, a
 *      function that imports the module — `load: async () => (await import("./<name>.js")).<fn>`.
 * Keep this file and ../cli.ts free of static imports of command modules, the runtime or the config
 * package: a static import here would be loaded by every call, `--help` included. Inside a command
 * module, a subcommand that needs a heavy dependency another subcommand does not (e.g. `topology plan`
 * needs no broker client) imports it in its handler (`await import("@worker-toolbox/runtime")`).
 * bench/cliStartup.ts measures the result; test/unit/cli/commandTable.test.ts checks the table.
 */
export const commandTable: CommandTable = [
  {
    command: "new [name]",
    describe: "Create a worker service from the toolbox template",
    load: async () => (await import("./new.js")).newCommand,
  },
  {
    command: "add <what>",
    describe: "Add to a generated service",
    load: async () => (await import("./add.js")).addCommands,
  },
  {
    command: "upgrade [dirs..]",
    describe: "Move services to a toolbox version, three-way merging template changes into their edits",
    load: async () => (await import("./upgrade.js")).upgradeCommand,
  },
  {
    command: "fleet [dirs..]",
    describe: "Show every service's toolbox version, template version, drift, conflicts and lockfile",
    load: async () => (await import("./fleet.js")).fleetCommand,
  },
  {
    command: "dev",
    describe:
      "Run this service's worker for development: local RabbitMQ and PostgreSQL (started once, then reused), " +
      "migrations, topology, restart on change, readable logs and every task result",
    load: async () => (await import("./dev.js")).devCommand,
  },
  {
    command: "config",
    describe: "Inspect the resolved configuration",
    load: async () => (await import("./config.js")).configCommands,
  },
  {
    command: "topology",
    describe: "Print, declare and verify the RabbitMQ exchanges, queues and bindings",
    load: async () => (await import("./topology.js")).topologyCommands,
  },
  {
    command: "db",
    describe: "Migrate, inspect, secure and prune the PostgreSQL result backend",
    load: async () => (await import("./db.js")).dbCommands,
  },
  {
    command: "track",
    describe:
      "Consume the platform queue into the tracking table until SIGTERM (the platform's tracker daemon)",
    load: async () => (await import("./track.js")).trackCommand,
  },
  {
    command: "doctor",
    describe:
      "Check config, broker, cluster nodes, partitions, alarms and quorum queue replicas, RabbitMQ 4.x readiness, " +
      "database migrations, topology drift, consumers, dead letters, queue depth and age; " +
      "exit 1 when a check fails",
    load: async () => (await import("./doctor.js")).doctorCommand,
  },
  {
    command: "monitor",
    describe:
      "Sample queue depth, consumers, rates and dead letters; log alarms at error level and POST them to a webhook",
    load: async () => (await import("./monitor.js")).monitorCommand,
  },
  {
    command: "audit",
    describe:
      "Reconcile every task scheduled in a window (the tracking table) with its result: lost, overdue and " +
      "untracked tasks by service and task; exit 1 when something is unaccounted",
    load: async () => (await import("./audit.js")).auditCommand,
  },
  {
    command: "dlq",
    describe: "Inspect, replay and purge dead-lettered tasks",
    load: async () => (await import("./dlq.js")).dlqCommands,
  },
  {
    command: "inspect <what> [ids..]",
    describe:
      "Ask every worker, TypeScript or Celery, through remote control (as `celery inspect`): ping, active, " +
      "reserved, registered, revoked, active_queues, stats, query_task",
    load: async () => (await import("./inspect.js")).inspectCommand,
  },
  {
    command: "control <command> [args..]",
    describe:
      "Change running workers, TypeScript or Celery, through remote control (as `celery control`): " +
      "pool_grow, pool_shrink, rate_limit, time_limit, shutdown, add_consumer, cancel_consumer, pool_restart",
    load: async () => (await import("./control.js")).controlCommand,
  },
  {
    command: "send <task> [args..]",
    describe:
      "Send a task (validated by its contract with --contracts, raw otherwise); prints its id, or its outcome with --wait",
    load: async () => (await import("./send.js")).sendCommand,
  },
  {
    command: "task <id>",
    describe: "Show one task: arguments, state history, result or exception, family, tracking metadata",
    load: async () => (await import("./tasks.js")).taskCommand,
  },
  {
    command: "tasks",
    describe:
      "List tasks newest first, filtered like the dashboard's task list (--service filters by service)",
    load: async () => (await import("./tasks.js")).tasksCommand,
  },
  {
    command: "dashboard",
    describe: "Serve the web dashboard: queues, tasks, failures, dead letters and workers, with live updates",
    load: async () => (await import("./dashboard.js")).dashboardCommand,
  },
  {
    command: "celery-config",
    describe: "Print the Celery settings that make a Python producer or worker join the same topology",
    load: async () => (await import("./celeryConfig.js")).celeryConfigCommand,
  },
];
